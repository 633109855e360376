"""Logging in and out."""

from starlette.responses import RedirectResponse

from ..errors import AuthenticationFailed, TooManyRequests
from . import auth
from .app import Context


def login_form(ctx: Context):
    """``GET /login``: the form (or home, for someone logged in already)."""
    if ctx.actor is not None:
        return ctx.redirect(auth.safe_next(ctx.query.get("next")))
    return auth.login_nonce(
        ctx.request,
        lambda nonce: ctx.render(
            "login.html",
            nonce=nonce,
            next=auth.safe_next(ctx.query.get("next")),
            username="",
            error=None,
        ),
        secure=ctx.web.secure(ctx.request),
    )


def login(ctx: Context):
    """``POST /login``: check the password (throttled like the API's), start
    a session, go where the user was going."""
    username = ctx.field("username").strip()
    password = ctx.field("password")
    target = auth.safe_next(ctx.field("next"))
    status, headers = 401, {}
    try:
        if not username or not password:
            raise AuthenticationFailed("Enter your username and password.")
        client = ctx.request.client.host if ctx.request.client else None
        token = ctx.accounts.authenticate(
            username, password, ctx.web.session_ms, client=client
        )
    except TooManyRequests as error:
        status, message = 429, error.detail
        if error.retry_after:
            headers["Retry-After"] = str(max(1, round(error.retry_after)))
    except AuthenticationFailed as error:
        message = error.detail
    else:
        response = RedirectResponse(target, status_code=303)
        auth.start_session(
            response, token, ctx.web.session_ms, ctx.web.secure(ctx.request)
        )
        return response

    def page(nonce):
        response = ctx.render(
            "login.html",
            status=status,
            nonce=nonce,
            next=target,
            username=username,
            error=message,
        )
        response.headers.update(headers)
        return response

    return auth.login_nonce(ctx.request, page, secure=ctx.web.secure(ctx.request))


def logout(ctx: Context):
    """``POST /logout``: revoke the session's token."""
    ctx.accounts.revoke_token(ctx.token)
    response = ctx.redirect("/login", "You are logged out.")
    auth.end_session(response)
    return response
