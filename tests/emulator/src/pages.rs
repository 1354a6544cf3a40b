//! Server-rendered browser pages: the phone page, the activation sign-in page, the index.
//! Plain HTML with a little inline CSS and script; no external assets.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::control::apply_action;
use crate::projectinsight::ActivationState;
use crate::respond::{html, json, see_other};
use crate::session::Action;
use crate::state::Shared;

type St = State<Arc<Shared>>;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f3f4f6;color:#111}\
main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0;word-break:break-all}h2{font-size:1.1rem}\
.muted{color:#555}.session{border:1px solid #ddd;border-radius:8px;padding:.75rem;margin:.5rem 0;list-style:none}\
ul{padding:0}form{display:inline}button{font-size:1rem;margin:.25rem .25rem 0 0;padding:.4rem .8rem;border-radius:6px;border:1px solid #888;background:#fff;cursor:pointer}\
button.primary{background:#2563eb;color:#fff;border-color:#2563eb}.status{font-weight:bold}\
.code{font-size:2.2rem;letter-spacing:.3rem;font-family:monospace}label{display:block;margin:.5rem 0}\
input{font-size:1rem;padding:.3rem;width:100%;box-sizing:border-box}.error{color:#b91c1c}code{word-break:break-all}";

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one path segment.
fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn page(title: &str, head_extra: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style>{head_extra}</head>\n<body>{body}</body></html>\n",
        esc(title)
    )
}

fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    html(
        status,
        page(
            title,
            "",
            &format!("<main><h1>{}</h1><p data-testid=\"message\">{}</p></main>", esc(title), esc(message)),
        ),
    )
}

/// What the phone page shows, read under the locks and released before rendering.
pub(crate) struct PhoneView {
    app: String,
    user: String,
    display_name: Option<String>,
    registered: bool,
    sessions: Vec<(String, &'static str, u64)>,
}

impl PhoneView {
    /// A short fingerprint of what is shown; the page reloads when it changes.
    fn version(&self) -> String {
        let mut h = Sha256::new();
        h.update(if self.registered { b"1" } else { b"0" });
        for (token, status, _) in &self.sessions {
            h.update(token.as_bytes());
            h.update(b":");
            h.update(status.as_bytes());
            h.update(b";");
        }
        h.finalize()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Reads the phone's view; a registered phone marks pending sessions as identifying.
pub(crate) fn phone_view(s: &Shared, reg: &str) -> Option<PhoneView> {
    let (app, user, display_name, registered) = {
        let dir = s.directory.lock();
        let (app, user) = dir.registrations.get(reg)?.clone();
        let u = dir.apps.get(&app)?.users.get(&user)?;
        (app, user, u.display_name.clone(), u.device_registered)
    };
    let sessions = if registered { s.user_sessions(&app, &user, true) } else { Vec::new() };
    Some(PhoneView { app, user, display_name, registered, sessions })
}

fn unknown_link() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Unknown registration link",
        "This registration link is not valid: the user was deleted or a newer link replaced it.",
    )
}

fn buttons_for(status: &str) -> &'static [(Action, &'static str)] {
    match status {
        "pending" | "identifying" => {
            &[(Action::Approve, "Approve"), (Action::Deny, "Deny"), (Action::Cancel, "Cancel")]
        }
        "active" => &[(Action::Walkaway, "Walk away"), (Action::RemoteLogout, "Log out remotely")],
        "walkaway" => &[(Action::Return, "Come back"), (Action::RemoteLogout, "Log out remotely")],
        _ => &[],
    }
}

/// `GET /_emulator/phone/{registration_token}`: the page that plays the user's phone.
pub(crate) async fn phone(State(s): St, Path(reg): Path<String>) -> Response {
    let Some(view) = phone_view(&s, &reg) else {
        return unknown_link();
    };
    let base = format!("/_emulator/phone/{}", seg(&reg));
    let mut body = String::new();
    let _ = write!(
        body,
        "<main data-state-version=\"{}\" data-state-url=\"{}/state\">\
<p class=\"muted\">Emulated phone &middot; application <code data-testid=\"app-id\">{}</code></p>\
<h1>Phone of <span data-testid=\"user-id\">{}</span></h1>",
        esc(&view.version()),
        esc(&base),
        esc(&view.app),
        esc(&view.user)
    );
    if let Some(name) = &view.display_name {
        let _ = write!(body, "<p data-testid=\"display-name\">{}</p>", esc(name));
    }
    if !view.registered {
        let _ = write!(
            body,
            "<p data-testid=\"device-status\" data-registered=\"false\">No phone is registered for this user yet.</p>\
<form method=\"post\" action=\"{}/register\"><button class=\"primary\" type=\"submit\" data-testid=\"register\">Register this phone</button></form>",
            esc(&base)
        );
    } else {
        body.push_str(
            "<p data-testid=\"device-status\" data-registered=\"true\">This phone is registered: sign-in requests appear below.</p><h2>Sign-in requests</h2>",
        );
        if view.sessions.is_empty() {
            body.push_str("<p class=\"muted\" data-testid=\"no-sessions\">No sign-in requests yet.</p>");
        }
        body.push_str("<ul>");
        for (token, status, _) in view.sessions.iter().take(50) {
            let _ = write!(
                body,
                "<li class=\"session\" data-session-token=\"{t}\" data-status=\"{st}\">\
Request <code>{short}</code> &middot; <span class=\"status\" data-testid=\"session-status\">{st}</span><br>",
                t = esc(token),
                st = esc(status),
                short = esc(token.get(..8).unwrap_or(token)),
            );
            for (action, label) in buttons_for(status) {
                let _ = write!(
                    body,
                    "<form method=\"post\" action=\"{}/sessions/{}/{}\"><button type=\"submit\" data-testid=\"{}\"{}>{}</button></form>",
                    esc(&base),
                    esc(&seg(token)),
                    action.as_str(),
                    action.as_str(),
                    if *action == Action::Approve { " class=\"primary\"" } else { "" },
                    label
                );
            }
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    body.push_str(
        "</main><script>(function(){var m=document.querySelector('main');var v=m.getAttribute('data-state-version');\
var u=m.getAttribute('data-state-url');setInterval(function(){fetch(u,{cache:'no-store'}).then(function(r){return r.json()})\
.then(function(j){if(j.version!==v){location.reload()}}).catch(function(){})},2000)})();</script>",
    );
    let title = format!("Phone of {}", view.user);
    html(StatusCode::OK, page(&title, "<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>", &body))
}

/// `GET /_emulator/phone/{registration_token}/state`: what the phone page shows, as JSON.
pub(crate) async fn phone_state(State(s): St, Path(reg): Path<String>) -> Response {
    let Some(view) = phone_view(&s, &reg) else {
        return json(StatusCode::NOT_FOUND, json!({ "error": "unknown registration link" }));
    };
    let sessions: Vec<_> = view.sessions.iter().map(|(t, st, _)| json!({ "session_token": t, "status": st })).collect();
    json(
        StatusCode::OK,
        json!({
            "version": view.version(),
            "application_id": view.app,
            "user": view.user,
            "display_name": view.display_name,
            "device_registered": view.registered,
            "sessions": sessions,
        }),
    )
}

/// `POST /_emulator/phone/{registration_token}/register`
pub(crate) async fn phone_register(State(s): St, Path(reg): Path<String>) -> Response {
    if crate::signins::register_phone(&s, &reg).is_none() {
        return unknown_link();
    }
    see_other(&format!("/_emulator/phone/{}", seg(&reg)))
}

/// `POST /_emulator/phone/{registration_token}/sessions/{session_token}/{action}`
pub(crate) async fn phone_action(State(s): St, Path((reg, token, action)): Path<(String, String, String)>) -> Response {
    let Some(action) = Action::parse(&action) else {
        return message_page(StatusCode::BAD_REQUEST, "Unknown action", "The phone cannot do that.");
    };
    let Some(view) = phone_view(&s, &reg) else {
        return unknown_link();
    };
    if !view.registered || !view.sessions.iter().any(|(t, _, _)| *t == token) {
        return message_page(StatusCode::NOT_FOUND, "Unknown request", "This sign-in request is not on this phone.");
    }
    // A refused transition (the status moved on meanwhile) just shows the page again.
    let _ = apply_action(&s, &token, action);
    see_other(&format!("/_emulator/phone/{}", seg(&reg)))
}

fn activation_problem(state: Option<ActivationState>) -> Response {
    match state {
        None => message_page(
            StatusCode::NOT_FOUND,
            "Unknown activation request",
            "This device activation link is not valid. Start the activation again from the program.",
        ),
        Some(ActivationState::Expired) => message_page(
            StatusCode::GONE,
            "Activation request expired",
            "This device activation request has expired. Start the activation again from the program.",
        ),
        Some(_) => message_page(
            StatusCode::GONE,
            "Device already activated",
            "This device activation request has already been completed.",
        ),
    }
}

fn sign_in_form(s: &Shared, id: &str, error: Option<&str>) -> Response {
    let details = {
        let pi = s.pi.lock();
        let Some(a) = pi.activations.get(id) else {
            return activation_problem(None);
        };
        match a.state(tokio::time::Instant::now()) {
            ActivationState::Open => {}
            other => return activation_problem(Some(other)),
        }
        let mut d = format!("<strong data-testid=\"client-agent\">{}</strong>", esc(&a.client_agent));
        for extra in [&a.platform, &a.device, &a.host_name].into_iter().flatten() {
            let _ = write!(d, " &middot; {}", esc(extra));
        }
        d
    };
    let error = error.map(|e| format!("<p class=\"error\" data-testid=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "<main><p class=\"muted\">Project Insight (emulated)</p><h1>Activate a device</h1>\
<p>A program asks for access to your account: {details}</p><p>Sign in to get its activation code.</p>{error}\
<form method=\"post\" action=\"/_emulator/activate/{}\" style=\"display:block\">\
<label>Username <input name=\"username\" autocomplete=\"username\" data-testid=\"username\" required></label>\
<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" data-testid=\"password\"></label>\
<button class=\"primary\" type=\"submit\" data-testid=\"sign-in\">Sign in</button></form>\
<p class=\"muted\">Any username and password are accepted.</p></main>",
        esc(&seg(id))
    );
    html(StatusCode::OK, page("Activate a device", "", &body))
}

/// `GET /_emulator/activate/{id}`: the sign-in form.
pub(crate) async fn activate_form(State(s): St, Path(id): Path<String>) -> Response {
    sign_in_form(&s, &id, None)
}

/// `POST /_emulator/activate/{id}`: signs in and shows the activation code.
pub(crate) async fn activate_submit(State(s): St, Path(id): Path<String>, body: Bytes) -> Response {
    let username = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "username")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    if username.is_empty() {
        return sign_in_form(&s, &id, Some("Enter a username."));
    }
    let (result, agent) = {
        let mut pi = s.pi.lock();
        let agent = pi.activations.get(&id).map(|a| a.client_agent.clone()).unwrap_or_default();
        (pi.sign_in(&id, &username), agent)
    };
    let code = match result {
        Some(Ok(code)) => code,
        Some(Err(state)) => return activation_problem(Some(state)),
        None => return activation_problem(None),
    };
    let body = format!(
        "<main><p class=\"muted\">Project Insight (emulated) &middot; signed in as <span data-testid=\"signed-in-user\">{}</span></p>\
<h1>Your activation code</h1><p>Type this code in <strong data-testid=\"client-agent\">{}</strong>:</p>\
<p class=\"code\" data-testid=\"activation-code\">{}</p><p class=\"muted\">You can close this page afterwards.</p></main>",
        esc(&username),
        esc(&agent),
        esc(&code)
    );
    html(StatusCode::OK, page("Your activation code", "", &body))
}

/// `GET /`: what the emulator is, its applications (ids only), users' phone pages, endpoints.
pub(crate) async fn index(State(s): St) -> Response {
    let mut apps = String::new();
    {
        let dir = s.directory.lock();
        for id in &dir.app_order {
            let Some(a) = dir.apps.get(id) else { continue };
            let _ = write!(apps, "<li><code data-testid=\"app\">{}</code>", esc(id));
            if a.users.is_empty() {
                apps.push_str(" <span class=\"muted\">(no users yet)</span>");
            } else {
                apps.push_str("<ul>");
                for (user, u) in a.users.iter().take(200) {
                    let _ = write!(
                        apps,
                        "<li style=\"list-style:disc;margin-left:1.5rem\"><a href=\"/_emulator/phone/{}\">{}</a>{}</li>",
                        esc(&seg(&u.registration_token)),
                        esc(user),
                        if u.device_registered { " (phone registered)" } else { "" }
                    );
                }
                apps.push_str("</ul>");
            }
            apps.push_str("</li>");
        }
    }
    let base = esc(&s.public_url);
    let body = format!(
        "<main><h1>deviceauth emulator</h1>\
<p>A local stand-in for the Activeconnect (IAMPASS) push sign-in service and Project Insight device activation, \
for tests and for development without an account.</p>\
<h2>Activeconnect</h2><p>Base URL <code>{base}</code>. Applications (secrets are printed by the emulator at start):</p><ul>{apps}</ul>\
<p>Each user's registration link opens the page that plays their phone: register it, then approve or deny sign-in requests.</p>\
<h2>Project Insight</h2><p>Base URL <code>{base}/api</code>. The activation URL it returns opens a sign-in page that shows the activation code.</p>\
<h2>Control API</h2><p>JSON under <code>/_emulator/</code>: <a href=\"/_emulator/apps\">apps</a>, \
<a href=\"/_emulator/faults\">faults</a>, <a href=\"/_emulator/requests\">requests</a>. See the README of the emulator.</p></main>"
    );
    html(StatusCode::OK, page("deviceauth emulator", "", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
