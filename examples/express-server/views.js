'use strict';
// HTML pages, with every interpolated value escaped.

const escape = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const STYLE = `body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2433;background:#f5f7fb}
nav{display:flex;gap:1rem;align-items:center;padding:.75rem 1.5rem;background:#1d2433;color:#fff}
nav a{color:#cfe0ff;text-decoration:none}nav .brand{font-weight:700;color:#fff;margin-right:auto}nav form{margin:0}
main{max-width:46rem;margin:2rem auto;padding:0 1.5rem}input{width:100%;padding:.6rem;margin-bottom:.75rem;border:1px solid #b8c2d6;border-radius:6px;font:inherit}
button,.button{padding:.55rem 1rem;border:0;border-radius:6px;background:#2f6fed;color:#fff;font:inherit;cursor:pointer;text-decoration:none}
.flash{padding:.6rem 1rem;background:#fff7d6;border:1px solid #f0d36b;border-radius:6px}.qr{width:220px;background:#fff;padding:.5rem}.qr svg{width:100%;height:auto}`;

function page(title, body, { user, flash, head = '' } = {}) {
  const nav = user
    ? `<span data-testid="signed-in-as">Signed in as <strong>${escape(user.name)}</strong></span>
       <form method="post" action="/signout"><button data-testid="sign-out">Sign out</button></form>`
    : `<a href="/signup" data-testid="nav-sign-up">Sign up</a><a href="/signin" data-testid="nav-sign-in">Sign in</a>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style>${head}</head>
<body><nav><a class="brand" href="/">Express demo</a>${nav}</nav><main>
${flash ? `<p class="flash" data-testid="flash">${escape(flash)}</p>` : ''}${body}</main></body></html>`;
}

const form = (action, label, testid, value = '') => `<form method="post" action="${action}">
<label for="username">User name</label><input id="username" name="username" value="${escape(value)}" required maxlength="64">
<button type="submit" data-testid="${testid}">${escape(label)}</button></form>`;

module.exports = {
  escape,
  welcome: (o) => page('Welcome', `<h1>Welcome</h1><p>Sign in by approving a request on your phone.</p>
    <p><a class="button" href="/signup">Sign up</a> <a class="button" href="/signin">Sign in</a></p>`, o),
  home: (o) => page('Home', `<h1 data-testid="home-title">Hi, ${escape(o.user.name)}!</h1><p>You are signed in with your phone.</p>`, o),
  signup: (o, value) => page('Sign up', `<h1>Sign up</h1>${form('/signup', 'Sign up', 'sign-up', value)}`, o),
  signin: (o, value) => page('Sign in', `<h1>Sign in</h1>${form('/signin', 'Send the request to my phone', 'sign-in', value)}`, o),
  register: (o, user, link, svg, registered) => page('Register your phone', `<h1>Register your phone, ${escape(user.name)}</h1>
    <figure class="qr" data-testid="registration-qr">${svg}</figure>
    <p><a href="${escape(link)}" data-testid="registration-link">${escape(link)}</a></p>
    <p data-testid="device-state" data-registered="${registered ? 'yes' : 'no'}">${registered ? 'A phone is registered. <a href="/signin">Sign in</a>' : 'Waiting for your phone… (reload to check)'}</p>`, o),
  noDevice: (o, user) => page('No phone registered', `<h1 data-testid="no-device">No phone is registered for ${escape(user.name)}</h1>
    <p><a href="/register/${encodeURIComponent(user.name)}" data-testid="register-now">Register your phone</a>, then sign in again.</p>`, o),
  waiting: (o, user, status) => page('Check your phone', `<h1>Check your phone, ${escape(user.name)}</h1>
    <p>Approve the sign-in request on your phone; this page moves on by itself.</p>
    <p>Status: <strong id="status" data-testid="waiting-status">${escape(status)}</strong></p>
    <script>(function poll(){fetch('/signin/status').then(function(r){return r.json()}).then(function(b){
      if(b.status)document.getElementById('status').textContent=b.status;
      if(b.redirect){location=b.redirect}else{setTimeout(poll,1000)}}).catch(function(){setTimeout(poll,2000)})})();</script>`,
    { ...o, head: '<noscript><meta http-equiv="refresh" content="3"></noscript>' }),
  ended: (o, status, message) => page('Not signed in', `<h1 data-testid="sign-in-ended" data-status="${escape(status)}">You are not signed in</h1>
    <p>${escape(message)}</p><p><a class="button" href="/signin">Try again</a></p>`, o),
};
