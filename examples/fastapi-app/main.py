"""Notes: a small FastAPI app whose users sign in with a push to their phone.

    pip install -r requirements.txt
    deviceauth-emulator                       # another terminal; prints the two ids below
    export DEVICEAUTH_APPLICATION_ID=... DEVICEAUTH_APPLICATION_SECRET=...
    export DEVICEAUTH_BASE_URL=http://127.0.0.1:8790  SECRET_KEY=$(openssl rand -hex 32)
    uvicorn main:app

Sign up, register the phone (QR code or link; with the emulator, open the link in a
browser and press Register), sign in: the phone (the emulator's phone page) approves.
A remote logout, or walking away, signs the user out here at the next request.

Users live in memory (a dict), which suits one process. With several workers
(`uvicorn --workers 4`) keep users in a database and set DEVICEAUTH_STORE to a shared store
(`sqlite:///sessions.db`, `postgresql://...`, `redis://...`) and SECRET_KEY to the same value.
"""

from __future__ import annotations

import os
import re
import secrets
from html import escape
from typing import Dict, List, Optional

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from deviceauth.fastapi import DeviceAuth
from deviceauth.web import new_user_id

SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
USERS: Dict[str, str] = {}  # user name -> the random id the sign-in service knows the user by
NOTES: Dict[str, List[str]] = {}
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def page(title: str, body: str, flash: Optional[str] = None) -> str:
    shown = f'<p class="flash" data-testid="flash">{escape(flash)}</p>' if flash else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Notes</title>
<style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}}
nav a{{margin-right:1rem}} .flash{{background:#fff3cd;padding:.5rem}} svg{{width:14rem;height:14rem}}</style></head>
<body><nav><a href="/">Notes</a><a href="/signup" data-testid="nav-sign-up">Sign up</a>
<a href="/auth/signin" data-testid="nav-sign-in">Sign in</a></nav>{shown}<main>{body}</main></body></html>"""


# -- sign-in through the phone: deviceauth.fastapi ---------------------------------------------
def find_user(name: str):
    service_id = USERS.get(name)
    return (name, service_id) if service_id else None


auth = DeviceAuth(find_user=find_user, secret_key=SECRET_KEY, layout=page)  # DEVICEAUTH_* from the environment
app = FastAPI(lifespan=auth.lifespan)
app.add_middleware(SessionMiddleware, secret_key=SECRET_KEY, same_site="lax")
app.include_router(auth.router)  # /auth/signin, /auth/wait, /auth/register, /auth/signout, ...
# -----------------------------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
async def home(request: Request, user: Optional[str] = Depends(auth.current_user)) -> str:
    flash = auth.pop_message(request)
    if user is None:
        body = '<h1>Notes</h1><p>Passwordless notes. <a href="/signup">Sign up</a> or <a href="/auth/signin">sign in</a>.</p>'
        return page("Welcome", body, flash)
    notes = "".join(f"<li>{escape(note)}</li>" for note in NOTES.get(user, []))
    return page("Home", f"""<h1 data-testid="home-title">Hi, {escape(user)}!</h1>
<form method="post" action="/notes"><input id="note" name="note" required>
<button data-testid="add-note">Add note</button></form><ul data-testid="notes">{notes}</ul>
<form method="post" action="/auth/signout"><button data-testid="sign-out">Sign out</button></form>""", flash)


@app.post("/notes")
async def add_note(note: str = Form(...), user: str = Depends(auth.require_user)) -> RedirectResponse:
    NOTES.setdefault(user, []).append(note[:500])
    return RedirectResponse("/", status_code=303)


@app.get("/signup", response_class=HTMLResponse)
async def signup_form(request: Request) -> str:
    return page("Sign up", """<h1>Sign up</h1><form method="post" action="/signup">
<label for="username">User name</label> <input id="username" name="username" required>
<button data-testid="sign-up">Sign up</button></form>""")


@app.post("/signup")
async def signup(request: Request, username: str = Form(...)):
    name = username.strip()
    if not NAME.match(name) or name in USERS:
        problem = "That name is taken." if name in USERS else "A name has 1 to 64 letters, digits, dots, dashes or underscores."
        return HTMLResponse(page("Sign up", f'<p data-testid="problem">{escape(problem)}</p>'), 409 if name in USERS else 400)
    USERS[name] = new_user_id()  # the service gets a random id, never the name
    # This browser may now show the registration QR code (the user is added to the service there).
    return RedirectResponse(auth.allow_registration(request, USERS[name], f"{name} @ notes"), status_code=303)
