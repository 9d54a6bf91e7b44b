"""The point catalogue: completeness against WHO 2008, input normalisation, search, cautions.

Expected values are written out here independently of the CSV (CLINICAL.md 7.0-7.4), so a
shifted name list, a lost caution or a wrong count in the data fails a test.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from importlib import resources

import pytest

from acuhead.domain.tcm.points import (
    CHANNEL_COUNTS,
    REGIONS,
    Caution,
    Point,
    catalogue,
    lookup,
    normalise_code,
    search,
)
from acuhead.errors import ValidationError

STANDARD = ("LU", "LI", "ST", "SP", "HT", "SI", "BL", "KI", "PC", "TE", "GB", "LR", "GV", "CV")


def _range(channel: str, first: int, last: int) -> list[str]:
    return [f"{channel}{n}" for n in range(first, last + 1)]


def _raw_rows() -> list[dict[str, str]]:
    """The CSV as written, bypassing the loader, so checks do not depend on its de-duplication."""
    text = (
        resources.files("acuhead.domain.tcm")
        .joinpath("data/points.csv")
        .read_text(encoding="utf-8")
    )
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


# ---------------------------------------------------------------- completeness (CLINICAL.md 7.0)


def test_channel_counts_are_the_who_2008_table() -> None:
    assert dict(CHANNEL_COUNTS) == {
        "LU": 11, "LI": 20, "ST": 45, "SP": 21, "HT": 9, "SI": 19, "BL": 67,
        "KI": 27, "PC": 9, "TE": 23, "GB": 44, "LR": 14, "GV": 28, "CV": 24,
    }  # fmt: skip
    assert sum(CHANNEL_COUNTS.values()) == 361


def test_catalogue_has_every_standard_point_and_no_more() -> None:
    points = catalogue()
    counts = Counter(p.channel for p in points.values() if p.channel in STANDARD)
    assert dict(counts) == dict(CHANNEL_COUNTS)
    assert sum(counts.values()) == 361
    for channel, count in CHANNEL_COUNTS.items():
        expected = set(_range(channel, 1, count))
        actual = {code for code, p in points.items() if p.channel == channel}
        assert actual == expected, channel


def test_extra_and_auricular_points_are_present() -> None:
    points = catalogue()
    extras = {"EX-HN1", "EX-HN3", "EX-HN4", "EX-HN5", "EX-HN14", "EX-HN15", "EX-B2"}
    ears = {"AT1", "AT2", "AT3", "AT4", "TF4", "AH6a"}
    assert extras <= {c for c, p in points.items() if p.channel == "EX"}
    assert ears == {c for c, p in points.items() if p.channel == "EAR"}
    assert all(points[c].region == "ear" for c in ears)


def test_codes_in_the_csv_are_unique() -> None:
    codes = [row["code"] for row in _raw_rows()]
    duplicates = [code for code, n in Counter(codes).items() if n > 1]
    assert duplicates == []
    assert len(codes) == len(catalogue())


def test_auricular_rows_cite_the_unchecked_gbt_standard() -> None:
    ear_rows = [row for row in _raw_rows() if row["channel"] == "EAR"]
    assert len(ear_rows) == 6
    for row in ear_rows:
        assert "GB/T 13734-2008" in row["source"] and "[R]" in row["source"], row["code"]


@pytest.mark.parametrize(
    ("code", "pinyin", "hanzi"),
    [
        ("LU7", "Lieque", "列缺"),
        ("LU11", "Shaoshang", "少商"),
        ("LI4", "Hegu", "合谷"),
        ("LI20", "Yingxiang", "迎香"),
        ("ST8", "Touwei", "头维"),
        ("ST36", "Zusanli", "足三里"),
        ("ST45", "Lidui", "厉兑"),
        ("SP6", "Sanyinjiao", "三阴交"),
        ("SP21", "Dabao", "大包"),
        ("HT7", "Shenmen", "神门"),
        ("HT9", "Shaochong", "少冲"),
        ("SI3", "Houxi", "后溪"),
        ("SI19", "Tinggong", "听宫"),
        ("BL10", "Tianzhu", "天柱"),
        ("BL23", "Shenshu", "肾俞"),
        ("BL40", "Weizhong", "委中"),
        ("BL62", "Shenmai", "申脉"),
        ("BL67", "Zhiyin", "至阴"),
        ("KI3", "Taixi", "太溪"),
        ("KI27", "Shufu", "俞府"),
        ("PC6", "Neiguan", "内关"),
        ("PC9", "Zhongchong", "中冲"),
        ("TE5", "Waiguan", "外关"),
        ("TE23", "Sizhukong", "丝竹空"),
        ("GB8", "Shuaigu", "率谷"),
        ("GB20", "Fengchi", "风池"),
        ("GB21", "Jianjing", "肩井"),
        ("GB41", "Zulinqi", "足临泣"),
        ("GB44", "Zuqiaoyin", "足窍阴"),
        ("LR3", "Taichong", "太冲"),
        ("LR14", "Qimen", "期门"),
        ("GV14", "Dazhui", "大椎"),
        ("GV20", "Baihui", "百会"),
        ("GV28", "Yinjiao", "龈交"),
        ("CV12", "Zhongwan", "中脘"),
        ("CV17", "Danzhong", "膻中"),
        ("CV24", "Chengjiang", "承浆"),
        ("EX-HN3", "Yintang", "印堂"),
        ("EX-HN5", "Taiyang", "太阳"),
    ],
)
def test_anchor_names_catch_shifted_lists(code: str, pinyin: str, hanzi: str) -> None:
    point = catalogue()[code]
    assert (point.pinyin, point.hanzi) == (pinyin, hanzi)


def test_every_point_has_names_a_known_region_and_consistent_channel() -> None:
    cjk = re.compile(r"^[\u3400-\u9fff]+$")
    for code, point in catalogue().items():
        assert point.code == code
        assert point.pinyin and re.fullmatch(r"[A-Z][a-zü']*", point.pinyin), code
        assert cjk.match(point.hanzi), code
        assert point.region in REGIONS, code
        if point.channel in STANDARD:
            assert code.startswith(point.channel), code


def test_depths_are_ranges_in_cun_never_safety_claims() -> None:
    shape = re.compile(r"^\d+(\.\d+)?(-\d+(\.\d+)?)? cun")
    for code, point in catalogue().items():
        if point.depth:
            assert shape.match(point.depth), (code, point.depth)
            assert "safe" not in point.depth.lower(), code


def test_catalogue_is_cached_and_read_only() -> None:
    first = catalogue()
    assert catalogue() is first
    with pytest.raises(TypeError):
        first["XX1"] = first["GB20"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first["GB20"].depth = "3 cun"  # type: ignore[misc]


# ---------------------------------------------------------------- aliases and normalisation


def test_every_alias_maps_back_to_its_point_and_not_to_a_canonical_code() -> None:
    points = catalogue()
    owner: dict[str, str] = {}
    for point in points.values():
        for alias in point.aliases:
            assert alias not in points, f"{alias} of {point.code} is itself a canonical code"
            assert owner.setdefault(alias, point.code) == point.code, alias
            assert normalise_code(alias) == point.code, alias


def test_legacy_and_revision_aliases_are_recorded() -> None:
    assert "LV3" in lookup("LR3").aliases
    assert "SJ5" in lookup("TE5").aliases
    assert "UB10" in lookup("BL10").aliases
    assert "GV29" in lookup("EX-HN3").aliases


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("GB20", "GB20"),
        ("lv3", "LR3"),
        ("LV 3", "LR3"),
        ("lv-3", "LR3"),
        ("Liv3", "LR3"),
        ("LR03", "LR3"),
        ("SJ5", "TE5"),
        ("TB5", "TE5"),
        ("TW 5", "TE5"),
        ("UB10", "BL10"),
        ("B10", "BL10"),
        ("Du20", "GV20"),
        ("du 20", "GV20"),
        ("Ren12", "CV12"),
        ("HE7", "HT7"),
        ("H7", "HT7"),
        ("P6", "PC6"),
        ("PE6", "PC6"),
        ("K3", "KI3"),
        ("VB20", "GB20"),
        ("GI4", "LI4"),
        ("IG3", "SI3"),  # French intestin grele = Small Intestine
        ("  gb20  ", "GB20"),
        ("Fengchi", "GB20"),
        ("fengchi", "GB20"),
        ("FENGCHI", "GB20"),
        ("Taichong", "LR3"),
        ("Yintang", "EX-HN3"),
        ("GV29", "EX-HN3"),
        ("Du 29", "EX-HN3"),
        ("ex-hn-5", "EX-HN5"),
        ("EXHN5", "EX-HN5"),
        ("Taiyang", "EX-HN5"),
        ("Jingbailao", "EX-HN15"),
        ("Huatuojiaji", "EX-B2"),
        ("ah6a", "AH6a"),
        ("tf 4", "TF4"),
        ("Zhonglüshu", "BL29"),
        ("zhonglushu", "BL29"),
        ("Zulinqi", "GB41"),
        ("Toulinqi", "GB15"),
        ("Tongli", "HT5"),
    ],
)
def test_normalise_code_accepts_legacy_spellings(text: str, code: str) -> None:
    assert normalise_code(text) == code


@pytest.mark.parametrize("text", ["XX1", "GB45", "LR0", "Fengchix", "", "EX-HN99", "C-7x"])
def test_normalise_code_rejects_unknown_points(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_code(text)
    [error] = caught.value.errors
    assert error.path == "code"
    assert error.message == f"unknown point '{text.strip()}'"


@pytest.mark.parametrize(
    ("name", "candidates"),
    [
        ("Wangu", {"SI4", "GB12"}),
        ("Futu", {"LI18", "ST32"}),
        ("juliao", {"ST3", "GB29"}),
        ("Zhongzhu", {"TE3", "KI15"}),
        ("Zhongdu", {"LR6", "GB32"}),
        ("Yinjiao", {"CV7", "GV28"}),
        ("Linqi", {"GB15", "GB41"}),
        ("Bailao", {"GV14", "EX-HN15"}),
    ],
)
def test_ambiguous_names_are_refused_with_the_candidates(name: str, candidates: set[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_code(name)
    [error] = caught.value.errors
    assert error.path == "code"
    assert "ambiguous" in error.message
    listed = set(re.findall(r"\b([A-Z]{2}(?:-[A-Z]{1,2})?\d+[a-z]?) \(", error.message))
    assert listed == candidates


def test_lookup_returns_the_point() -> None:
    point = lookup("fengchi")
    assert isinstance(point, Point)
    assert (point.code, point.channel, point.region) == ("GB20", "GB", "neck")


# ---------------------------------------------------------------- search


def test_search_by_channel_is_complete_and_in_number_order() -> None:
    gb = search(channel="GB")
    assert [p.code for p in gb] == _range("GB", 1, 44)
    assert [p.code for p in search(channel="lv")] == _range("LR", 1, 14)


def test_search_by_region() -> None:
    foot_gb = [p.code for p in search(channel="GB", region="foot")]
    assert foot_gb == ["GB40", "GB41", "GB42", "GB43", "GB44"]
    upper_back = search(region="upper back")
    assert {"BL11", "BL21", "GV14", "EX-B2"} <= {p.code for p in upper_back}
    assert all(p.region == "upper_back" for p in upper_back)
    assert {p.code for p in search("neck")} >= {"GB20", "BL10", "GV15", "GV16"}


def test_search_by_pinyin_is_case_and_diacritic_insensitive() -> None:
    assert [p.code for p in search("FENGCHI")] == ["GB20"]
    assert [p.code for p in search("chi")] == ["LU5", "LI11", "PC1", "TE4", "TE18", "GB20"]
    assert [p.code for p in search("zhonglü")] == ["BL29"]
    assert [p.code for p in search("linqi")] == ["GB15", "GB41"]


def test_search_by_code_alias_and_hanzi() -> None:
    assert [p.code for p in search("lv3")] == ["LR3"]
    assert [p.code for p in search("GV29")] == ["EX-HN3"]
    assert [p.code for p in search("风池")] == ["GB20"]


def test_search_results_sorted_by_channel_then_number() -> None:
    results = search("", region="head")
    channels = [p.channel for p in results]
    order = [*STANDARD, "EX", "EAR"]
    assert channels == sorted(channels, key=order.index)
    gb_numbers = [int(p.code[2:]) for p in results if p.channel == "GB"]
    assert gb_numbers == sorted(gb_numbers) and gb_numbers[0] < 10 < gb_numbers[-1]


def test_search_empty_query_lists_everything() -> None:
    assert len(search()) == len(catalogue())


@pytest.mark.parametrize(
    ("kwargs", "path"), [({"channel": "XY"}, "channel"), ({"region": "tail"}, "region")]
)
def test_search_rejects_unknown_filters(kwargs: dict[str, str], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        search("", **kwargs)
    assert caught.value.errors[0].path == path


# ---------------------------------------------------------------- cautions (CLINICAL.md 7.3)


def _codes_with(caution: Caution) -> set[str]:
    return {code for code, p in catalogue().items() if caution in p.cautions}


def test_caution_values_are_stable() -> None:
    assert {c.name: c.value for c in Caution} == {
        "PREGNANCY": "pregnancy",
        "PNEUMOTHORAX": "pneumothorax",
        "MEDULLA": "medulla",
        "EYE": "eye_region",
        "ARTERY": "large_artery",
        "NO_MOXA": "no_moxa",
        "TRACHEA": "trachea",
        "EAR_INFECTION": "ear_infection",
    }


def test_pregnancy_traditional_points_carry_the_caution() -> None:
    expected = {
        "LI4", "SP6", "BL60", "BL67", "GB21",
        *_range("CV", 1, 8), *_range("KI", 11, 16), *_range("ST", 25, 30),
        *_range("BL", 22, 35), *_range("GV", 3, 5),
    }  # fmt: skip
    flagged = _codes_with(Caution.PREGNANCY)
    assert expected <= flagged, sorted(expected - flagged)
    # Not everything is flagged: the warning must keep its meaning.
    assert "GB20" not in flagged and "LR3" not in flagged


def test_pneumothorax_points_carry_the_caution() -> None:
    expected = {"GB21", "ST12", "LU1", "LU2", *_range("BL", 11, 21)}
    flagged = _codes_with(Caution.PNEUMOTHORAX)
    assert expected <= flagged, sorted(expected - flagged)
    assert "BL23" not in flagged  # lumbar, below the lung


def test_medulla_eye_artery_trachea_and_ear_cautions() -> None:
    assert {"GB20", "GV15", "GV16"} <= _codes_with(Caution.MEDULLA)
    assert {"BL1", "ST1", "BL2", "EX-HN7"} <= _codes_with(Caution.EYE)
    assert {"LU9", "ST9", "ST30", "ST42", "LI18", "TE21", "GB3"} <= _codes_with(Caution.ARTERY)
    assert {"BL1", "ST1"} <= _codes_with(Caution.NO_MOXA)
    assert _codes_with(Caution.TRACHEA) == {"CV22"}
    ears = {c for c, p in catalogue().items() if p.channel == "EAR"}
    assert _codes_with(Caution.EAR_INFECTION) == ears


def test_named_point_cautions() -> None:
    assert Caution.MEDULLA in lookup("GB20").cautions
    assert {Caution.PNEUMOTHORAX, Caution.PREGNANCY} <= set(lookup("GB21").cautions)
    assert lookup("LR3").cautions == ()


def test_cautioned_points_say_where_they_are() -> None:
    for code, point in catalogue().items():
        if point.cautions:
            assert point.location, code
            assert point.depth or "not needled" in point.angle, code


# ---------------------------------------------------------------- headache-care detail

HEADACHE_POINTS = [
    "GB20", "GB21", "GB8", "GB14", "GB34", "GB40", "GB41", "GB43", "GB2", "GB5", "GB6", "GB7",
    "GB9", "GB12", "GB13", "GB15", "GB16", "GB39",
    "GV14", "GV15", "GV16", "GV19", "GV20", "GV21", "GV23", "GV24",
    "BL1", "BL2", "BL7", "BL10", "BL11", "BL18", "BL20", "BL23", "BL40", "BL60", "BL62", "BL67",
    "TE3", "TE5", "TE8", "TE17", "TE19", "TE21", "TE23", "LI4", "LI6", "LI11", "LI20",
    "ST8", "ST36", "ST40", "ST42", "ST44", "SP6", "SP9", "SP10", "LR2", "LR3", "KI1", "KI3",
    "PC6", "PC8", "SI3", "SI15", "LU7", "CV4", "CV6", "CV12",
    "EX-HN1", "EX-HN3", "EX-HN4", "EX-HN5", "EX-HN14", "EX-HN15",
    "AT1", "AT2", "AT3", "AT4", "TF4", "AH6a",
]  # fmt: skip


@pytest.mark.parametrize("code", HEADACHE_POINTS)
def test_headache_care_points_have_location_depth_and_angle(code: str) -> None:
    point = catalogue()[code]
    assert point.location, code
    assert point.depth, code
    assert point.angle, code


# Li 2012 (CMAJ) arms and the CTTH trial set, CLINICAL.md 7.4.
TRIAL_POINTS = [
    "TE5", "GB34", "GB40", "GB20", "TE19", "TE8", "GB33", "GB42",
    "ST8", "LI6", "ST36", "ST42", "GV20", "EX-HN5", "LI4", "LR3",
]  # fmt: skip


@pytest.mark.parametrize("code", TRIAL_POINTS)
def test_trial_points_say_what_they_are_used_for(code: str) -> None:
    assert catalogue()[code].headache_use, code


def test_gb20_needling_note_keeps_the_medulla_warning() -> None:
    point = lookup("GB20")
    assert "nose" in point.angle
    assert "never" in point.angle
