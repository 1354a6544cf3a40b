'use strict';
// HTML pages, with every interpolated value escaped. `layout` also frames the sign-in
// pages of deviceauth/express (sign-in form, waiting page, ended page, registration).
const { escapeHtml: escape } = require('deviceauth/express');

const STYLE = `body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2433;background:#f5f7fb}
nav{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;background:#1d2433;color:#fff}
nav a{color:#cfe0ff;text-decoration:none}nav .brand{font-weight:700;color:#fff;margin-right:auto}nav form{margin:0}
main{max-width:46rem;margin:2rem auto;padding:0 1.5rem}input{width:100%;padding:.6rem;margin-bottom:.75rem;border:1px solid #b8c2d6;border-radius:6px;font:inherit;box-sizing:border-box}
button,.button{padding:.55rem 1rem;border:0;border-radius:6px;background:#2f6fed;color:#fff;font:inherit;cursor:pointer;text-decoration:none}
.flash{padding:.6rem 1rem;background:#fff7d6;border:1px solid #f0d36b;border-radius:6px}.qr{width:220px;background:#fff;padding:.5rem;margin:0}.qr svg{width:100%;height:auto}`;

/** The page frame: `{ title, body, head, message, user }`. */
function layout({ title, body, head = '', message, user }) {
  const nav = user
    ? `<span data-testid="signed-in-as">Signed in as <strong>${escape(user.name)}</strong></span>
       <form method="post" action="/signout"><button data-testid="sign-out">Sign out</button></form>`
    : `<a href="/signup" data-testid="nav-sign-up">Sign up</a><a href="/signin" data-testid="nav-sign-in">Sign in</a>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style>${head}</head>
<body><nav><a class="brand" href="/">Express demo</a>${nav}</nav><main>
${message ? `<p class="flash" data-testid="flash">${escape(message)}</p>` : ''}${body}</main></body></html>`;
}

const frame = (req, res, title, body, message = res.locals.deviceauthMessage) => layout({ title, body, message, user: res.locals.user });

module.exports = {
  layout,
  home: (req, res) =>
    res.locals.user
      ? frame(req, res, 'Home', `<h1 data-testid="home-title">Hi, ${escape(res.locals.user.name)}!</h1><p>You are signed in with your phone.</p>`)
      : frame(req, res, 'Welcome', `<h1>Welcome</h1><p>Sign in by approving a request on your phone.</p>
    <p><a class="button" href="/signup">Sign up</a> <a class="button" href="/signin">Sign in</a></p>`),
  signup: (req, res, problem, value = '') =>
    frame(req, res, 'Sign up', `<h1>Sign up</h1><form method="post" action="/signup">
<label for="username">User name</label><input id="username" name="username" value="${escape(value)}" required maxlength="64">
<button type="submit" data-testid="sign-up">Sign up</button></form>`, problem),
};
