'use strict';
// The user table: name -> { id, name, deviceauthId } in one JSON file that the processes
// of this machine share (a real app keeps its users in its database). `deviceauthId` is
// the random id the sign-in service knows the user by (from `newUserId()`).
const fs = require('node:fs');

class Users {
  constructor(file) {
    this.file = file;
  }

  #all() {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (error) {
      if (error.code === 'ENOENT') return {};
      throw error;
    }
  }

  /** The user named `name`, or null. */
  get(name) {
    const all = this.#all();
    return Object.hasOwn(all, name) ? all[name] : null;
  }

  /** Adds `user` (written aside, then renamed into place: readers never see half a file). */
  add(user) {
    const all = { ...this.#all(), [user.id]: user };
    const draft = `${this.file}.${process.pid}`;
    fs.writeFileSync(draft, JSON.stringify(all), { mode: 0o600 });
    fs.renameSync(draft, this.file);
    return user;
  }
}

module.exports = Users;
