"""Pattern differentiation: written vignettes, transparency of the score, diary-derived signs."""

from __future__ import annotations

import datetime as dt

import pytest

from acuhead.domain.diary import (
    Attack,
    Diary,
    DiaryDay,
    Location,
    Nausea,
    PatientFacts,
    Quality,
)
from acuhead.domain.tcm.channels import (
    LOCATION_RULES,
    SPECIFICITY_CAVEAT,
    Channel,
    channels_for,
    parse_location,
)
from acuhead.domain.tcm.patterns import (
    INDICATORS,
    AttackFacts,
    Pattern,
    SignField,
    assess,
    confirm,
    derive_signs,
    derive_signs_from_facts,
    parse_pattern,
    score_patterns,
)
from acuhead.errors import ValidationError

# (signs, tongue, pulse) -> the pattern a textbook would put first (CLINICAL.md 7.2 rows).
VIGNETTES: list[tuple[str, list[str], str, str, set[Pattern]]] = [
    (
        "stress-triggered temporal throbbing",
        ["stress-triggered temporal throbbing", "irritability"],
        "red sides",
        "wiry",
        {Pattern.LIVER_YANG_RISING, Pattern.LIVER_QI_STAGNATION},
    ),
    (
        "dull headache after exertion",
        ["dull headache worse after exertion", "fatigue"],
        "pale tongue",
        "weak pulse",
        {Pattern.QI_DEFICIENCY},
    ),
    (
        "fixed stabbing pain",
        ["fixed stabbing pain"],
        "purple tongue",
        "choppy pulse",
        {Pattern.BLOOD_STASIS},
    ),
    (
        "wind-cold",
        [
            "sudden headache radiating to nape and upper back",
            "worse with cold",
            "aversion to cold",
            "no thirst",
        ],
        "thin white coat",
        "floating, tight",
        {Pattern.WIND_COLD},
    ),
    (
        "wind-heat",
        ["distending, splitting headache", "fever", "red eyes", "thirsty"],
        "red tip, yellow coat",
        "floating and rapid",
        {Pattern.WIND_HEAT},
    ),
    (
        "wind-damp",
        ["head feels heavy, as if wrapped", "heavy limbs", "worse in damp weather"],
        "white greasy coat",
        "soggy",
        {Pattern.WIND_DAMP},
    ),
    (
        "liver fire",
        ["severe throbbing at the temples", "red face", "bitter taste", "constipation"],
        "red with redder sides, yellow coat",
        "wiry and rapid",
        {Pattern.LIVER_FIRE},
    ),
    (
        "liver-qi stagnation",
        ["headache comes with low mood", "frequent sighing", "rib-side distension", "premenstrual"],
        "normal",
        "wiry",
        {Pattern.LIVER_QI_STAGNATION},
    ),
    (
        "phlegm",
        ["muzzy, foggy head", "nausea", "chest stuffiness", "overweight"],
        "thick greasy coat",
        "slippery",
        {Pattern.PHLEGM_TURBIDITY},
    ),
    (
        "blood deficiency",
        ["dull headache worse after menstruation", "palpitations", "pale face"],
        "pale",
        "fine",
        {Pattern.BLOOD_DEFICIENCY},
    ),
    (
        "kidney deficiency",
        ["empty headache", "tinnitus", "sore lower back and knees"],
        "red, little coat",
        "deep, thin",
        {Pattern.KIDNEY_DEFICIENCY},
    ),
]


@pytest.mark.parametrize(
    ("signs", "tongue", "pulse", "expected"),
    [v[1:] for v in VIGNETTES],
    ids=[v[0] for v in VIGNETTES],
)
def test_vignette_ranks_the_textbook_pattern_first(
    signs: list[str], tongue: str, pulse: str, expected: set[Pattern]
) -> None:
    a = assess(signs, tongue, pulse)
    assert a.scores[0].pattern in expected
    # A clear vignette leads outright, it is not a tie.
    assert a.scores[0].score > a.scores[1].score or a.scores[1].pattern in expected
    assert a.working_pattern in expected


def test_liver_yang_vignette_scores_the_signs_it_names() -> None:
    a = assess(["stress-triggered temporal throbbing", "irritability"], "red sides", "wiry")
    top = a.score_of(Pattern.LIVER_YANG_RISING)
    labels = dict(top.signs)
    assert labels["wiry pulse"] == 3
    assert labels["stress trigger"] == 2
    assert labels["red sides of tongue"] == 2
    assert "temporal throbbing" in labels
    # Nothing in this vignette speaks for deficiency.
    assert a.score_of(Pattern.QI_DEFICIENCY).score == 0


def test_all_eleven_patterns_covered_by_vignettes() -> None:
    covered = set().union(*(v[4] for v in VIGNETTES))
    assert covered == set(Pattern)
    assert len(Pattern) == 11


def test_score_is_the_sum_of_the_signs_shown() -> None:
    scores = score_patterns(["stress", "dizziness", "fatigue"], "pale, thin white coat", "wiry")
    for s in scores:
        assert s.score == sum(w for _, w in s.signs)
    totals = [s.score for s in scores]
    assert totals == sorted(totals, reverse=True)
    assert len(scores) == len(Pattern)


def test_repeating_a_sign_does_not_inflate_the_score() -> None:
    once = score_patterns(["stress"])
    thrice = score_patterns(["stress", "stressed", "stress at work"])
    s1 = next(s for s in once if s.pattern is Pattern.LIVER_QI_STAGNATION)
    s3 = next(s for s in thrice if s.pattern is Pattern.LIVER_QI_STAGNATION)
    assert s1.score == s3.score == 2


def test_negated_sign_does_not_count() -> None:
    a = assess(["no fever", "no thirst"])
    assert a.score_of(Pattern.WIND_HEAT).score == 0
    assert ("no thirst", 1) in a.score_of(Pattern.WIND_COLD).signs
    b = assess(["fever", "thirst"])
    assert b.score_of(Pattern.WIND_HEAT).score == 3


def test_negation_is_limited_to_its_clause() -> None:
    a = assess(["no fever, red eyes"])
    assert dict(a.score_of(Pattern.WIND_HEAT).signs) == {"red eyes": 1}


def test_tongue_and_pulse_words_only_count_in_their_own_field() -> None:
    # "weak" in the signs list is not a weak pulse.
    a = assess(["weak knees"], "", "")
    assert "weak pulse" not in dict(a.score_of(Pattern.QI_DEFICIENCY).signs)
    b = assess([], "", "weak")
    assert dict(b.score_of(Pattern.QI_DEFICIENCY).signs) == {"weak pulse": 3}


def test_confirmed_pattern_overrides_the_ranking() -> None:
    a = assess(["fixed stabbing pain"], "purple", "choppy")
    assert a.working_pattern is Pattern.BLOOD_STASIS
    c = confirm(a, Pattern.KIDNEY_DEFICIENCY)
    assert c.working_pattern is Pattern.KIDNEY_DEFICIENCY
    assert c.score_of(Pattern.KIDNEY_DEFICIENCY).score == 0  # the override is not a score
    assert confirm(c, None).working_pattern is Pattern.BLOOD_STASIS


def test_tie_or_nothing_gives_no_working_pattern() -> None:
    assert assess([]).working_pattern is None
    assert assess([]).leading == ()
    tied = assess(["stress"])  # liver-yang and liver-qi both +2
    assert set(tied.leading) == {Pattern.LIVER_YANG_RISING, Pattern.LIVER_QI_STAGNATION}
    assert tied.working_pattern is None


def test_parse_pattern_accepts_labels_and_aliases() -> None:
    assert parse_pattern("Liver-yang rising") is Pattern.LIVER_YANG_RISING
    assert parse_pattern("turbid phlegm") is Pattern.PHLEGM_TURBIDITY
    assert parse_pattern("blood_stasis") is Pattern.BLOOD_STASIS
    with pytest.raises(ValidationError) as e:
        parse_pattern("spleen fire", "assessment.confirmed_pattern")
    assert e.value.errors[0].path == "assessment.confirmed_pattern"


def test_indicator_table_is_well_formed() -> None:
    labels = [i.label for i in INDICATORS]
    assert len(labels) == len(set(labels))
    for ind in INDICATORS:
        assert ind.keywords and all(k == k.lower() for k in ind.keywords)
        assert ind.weights and all(1 <= w <= 3 for w in ind.weights.values())
    for p in Pattern:
        assert any(p in i.weights and i.field is SignField.SIGNS for i in INDICATORS), p


def test_caveat_travels_with_the_assessment() -> None:
    assert "Li 2012" in assess([]).caveat
    assert assess([]).caveat == SPECIFICITY_CAVEAT


# ---- diary-derived signs --------------------------------------------------------------------


def _attack(day: int, **kw: object) -> Attack:
    return Attack(start=dt.datetime(2026, 2, day, 9, 0), **kw)  # type: ignore[arg-type]


def test_stress_triggered_temporal_pulsating_attacks_derive_liver_signs() -> None:
    attacks = [
        _attack(
            2, locations=(Location.TEMPORAL,), quality=(Quality.PULSATING,), triggers=("stress",)
        ),
        _attack(
            5,
            locations=(Location.TEMPORAL,),
            quality=(Quality.PULSATING,),
            triggers=("Stress", "poor sleep"),
        ),
        _attack(9, locations=(Location.FRONTAL,), quality=(Quality.PRESSING,)),
    ]
    diary = Diary(PatientFacts(None), attacks=tuple(attacks))
    signs = {d.sign: d.basis for d in derive_signs(diary)}
    assert "stress trigger" in signs and "2 of 3" in signs["stress trigger"]
    assert "temporal throbbing" in signs
    a = assess(diary=diary)
    assert a.score_of(Pattern.LIVER_YANG_RISING).score > 0
    assert a.working_pattern is Pattern.LIVER_YANG_RISING


def test_a_rare_trigger_is_not_derived() -> None:
    facts = [AttackFacts(triggers=("stress",))] + [AttackFacts() for _ in range(3)]
    assert derive_signs_from_facts(facts) == ()  # 1 of 4 is below a third
    facts2 = [AttackFacts(triggers=("stress",))] * 2 + [AttackFacts() for _ in range(2)]
    assert [d.sign for d in derive_signs_from_facts(facts2)] == ["stress trigger"]


def test_high_neck_tension_and_short_sleep_are_derived() -> None:
    days = [
        DiaryDay(dt.date(2026, 2, d), headache=False, neck_tension=7, sleep_hours=5.0)
        for d in range(1, 5)
    ]
    signs = [d.sign for d in derive_signs_from_facts([], days)]
    assert "neck tension" in signs and "poor sleep" in signs
    calm = [
        DiaryDay(dt.date(2026, 2, d), headache=False, neck_tension=5, sleep_hours=6.0)
        for d in range(1, 5)
    ]
    assert derive_signs_from_facts([], calm) == ()


def test_stabbing_and_nausea_are_derived() -> None:
    facts = [
        AttackFacts(quality=(Quality.STABBING,), nausea=Nausea.MODERATE),
        AttackFacts(quality=(Quality.STABBING,), nausea=Nausea.NONE, vomiting=False),
    ]
    signs = [d.sign for d in derive_signs_from_facts(facts)]
    assert "stabbing pain" in signs and "nausea" in signs


def test_attack_on_a_menstruation_day_is_menstruation_linked() -> None:
    diary = Diary(
        PatientFacts(None),
        days=(
            DiaryDay(dt.date(2026, 2, 4), headache=True, menstruating=True),
            DiaryDay(dt.date(2026, 2, 10), headache=True, menstruating=False),
        ),
        attacks=(_attack(4), _attack(10)),
    )
    assert "menstruation-linked" in [d.sign for d in derive_signs(diary)]
    dry = Diary(
        PatientFacts(None),
        days=(DiaryDay(dt.date(2026, 2, 4), headache=True),),
        attacks=(_attack(4),),
    )
    assert "menstruation-linked" not in [d.sign for d in derive_signs(dry)]


# ---- channels --------------------------------------------------------------------------------


def test_locations_map_to_channels_by_tradition() -> None:
    assert channels_for([Location.FRONTAL]) == (Channel.YANGMING,)
    assert channels_for([Location.TEMPORAL]) == (Channel.SHAOYANG,)
    assert channels_for([Location.OCCIPITAL, Location.NECK]) == (Channel.TAIYANG,)
    assert channels_for([Location.VERTEX]) == (Channel.JUEYIN, Channel.GOVERNOR)
    assert set(LOCATION_RULES) == set(Location)


def test_orbital_avoids_eye_region_points() -> None:
    assert not {"BL1", "ST1", "BL2"} & set(LOCATION_RULES[Location.ORBITAL].local_points)


def test_parse_location_reports_the_path() -> None:
    assert parse_location(" Temporal ") is Location.TEMPORAL
    with pytest.raises(ValidationError) as e:
        parse_location("parietal", "assessment.locations[1]")
    assert e.value.errors[0].path == "assessment.locations[1]"
