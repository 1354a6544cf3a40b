'use strict';
// In-memory user table: each user with the random token registered with Activeconnect.
// A real deployment keeps it in its database. Sign-in sessions are not stored here: they
// travel sealed in the browser's cookie, and the monitor store watches them (see server.js).
const crypto = require('node:crypto');

const users = new Map(); // name -> { name, token }
const byToken = new Map(); // token -> user

module.exports = {
  addUser(name) {
    const user = { name, token: crypto.randomBytes(24).toString('base64url') };
    users.set(name, user);
    byToken.set(user.token, user);
    return user;
  },
  user: (name) => users.get(name),
  userByToken: (token) => byToken.get(token),
  hasUser: (name) => users.has(name),
};
