'use strict';
// In-memory store: users with the random token registered with Activeconnect, and
// sign-in sessions keyed by a random id (the only thing the browser's cookie holds).
// A real deployment keeps the same two tables in its database.
const crypto = require('node:crypto');

const users = new Map(); // name -> { name, token }
const sessions = new Map(); // sid -> { user, data (session JSON, holds the secret), status, checkedAt }

module.exports = {
  addUser(name) {
    const user = { name, token: crypto.randomBytes(24).toString('base64url') };
    users.set(name, user);
    return user;
  },
  user: (name) => users.get(name),
  hasUser: (name) => users.has(name),
  openSession(user, data, status) {
    const sid = crypto.randomBytes(32).toString('base64url');
    sessions.set(sid, { user, data, status, checkedAt: Date.now() });
    return sid;
  },
  session: (sid) => (sid ? sessions.get(sid) : undefined),
  closeSession: (sid) => sessions.delete(sid),
};
