"""Log in, log out, who am I."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.exc import IntegrityError

from acuhead.services import accounts
from acuhead.services.actors import require_admin
from acuhead.store.models import User
from acuhead.web.deps import (
    COOKIE,
    CurrentActor,
    DbDep,
    ReadSession,
    SettingsDep,
    WriteSession,
    check_same_origin,
    run_login,
    token_from,
)
from acuhead.web.schemas import LoginIn, LoginOut, UserIn, UserOut

router = APIRouter(tags=["auth"])


def user_out(user: object, patient_id: int | None = None) -> UserOut:
    return UserOut.model_validate(
        {
            **{k: getattr(user, k) for k in ("id", "clinic_id", "email", "name", "role")},
            "patient_id": patient_id,
        }
    )


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, db: DbDep, settings: SettingsDep
) -> LoginOut:
    """Start a session. The token is returned and also set as an HttpOnly cookie."""
    if request.cookies.get(COOKIE):
        check_same_origin(request)
    check = partial(accounts.log_in, db, settings, email=body.email, password=body.password)
    try:
        result = await run_login(request, check)
    except accounts.LoginRefused:
        raise HTTPException(401, "wrong e-mail or password") from None
    except accounts.LoginThrottled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    out = LoginOut(
        token=result.token,
        expires_utc=result.expires_utc,
        user=user_out(result.user, result.actor.patient_id),
    )
    response.set_cookie(
        COOKIE,
        result.token,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        max_age=settings.session_hours * 3600,
        path="/",
    )
    return out


@router.post("/auth/logout", status_code=204)
def logout(request: Request, actor: CurrentActor, session: WriteSession) -> Response:
    token, _ = token_from(request)
    if token:
        accounts.logout(session, token=token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=UserOut)
def me(actor: CurrentActor, session: ReadSession) -> UserOut:
    user = session.get(User, actor.user_id)
    return user_out(user, actor.patient_id)


@router.get("/users", response_model=list[UserOut], tags=["users"])
def list_users(actor: CurrentActor, session: WriteSession) -> list[UserOut]:
    return [user_out(u) for u in accounts.list_users(session, actor=actor)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(body: UserIn, actor: CurrentActor, session: WriteSession) -> UserOut:
    require_admin(actor)
    try:
        user = accounts.create_user(
            session,
            clinic_id=actor.clinic_id,
            email=body.email,
            name=body.name,
            role=body.role,
            password=body.password,
            actor=actor,
        )
    except IntegrityError:
        raise HTTPException(409, "a user with this e-mail already exists") from None
    return user_out(user)
