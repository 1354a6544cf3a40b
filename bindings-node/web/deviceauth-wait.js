/*! deviceauth-wait.js: the waiting page of a deviceauth sign-in (the same file in the
 * Python and Node packages). Plain ES2017, no dependencies, no inline script needed.
 *
 * <div id="deviceauth-wait" data-events="/signin/events" data-status="/signin/status"
 *      data-next="/signin/done" data-ended="/signin/ended">
 *   <p data-deviceauth-message>Check your phone...</p></div>
 * <script src="/deviceauth-wait.js" defer></script>
 *
 * Listens to the Server-Sent Events at data-events; on an error, or without EventSource,
 * fetches the JSON progress at data-status once per second instead. Each progress
 * ({"state", "status", "message", "done"}) writes its message into [data-deviceauth-message]
 * and its state into the div's data-state. Approved: goes to data-next. Done otherwise
 * (refused, timeout, ended): goes to data-ended + "?state=" + state.
 */
(function () {
  'use strict';

  var POLL_MS = 1000;
  var root = document.getElementById('deviceauth-wait');
  if (!root) return;
  var eventsUrl = root.getAttribute('data-events');
  var statusUrl = root.getAttribute('data-status');
  var nextUrl = root.getAttribute('data-next') || '/';
  var endedUrl = root.getAttribute('data-ended') || '/';
  var messageNode = root.querySelector('[data-deviceauth-message]');
  var source = null;
  var timer = null;
  var finished = false;

  function stop() {
    finished = true;
    if (source) {
      source.close();
      source = null;
    }
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function show(progress) {
    if (finished || !progress || typeof progress.state !== 'string') return;
    root.setAttribute('data-state', progress.state);
    if (messageNode && typeof progress.message === 'string') messageNode.textContent = progress.message;
    if (progress.state === 'approved') {
      stop();
      window.location.assign(nextUrl);
    } else if (progress.done === true) {
      stop();
      var separator = endedUrl.indexOf('?') === -1 ? '?' : '&';
      window.location.assign(endedUrl + separator + 'state=' + encodeURIComponent(progress.state));
    }
  }

  function poll() {
    timer = null;
    if (finished || !statusUrl) return;
    fetch(statusUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        return response.json();
      })
      .then(show, function () {})
      .then(function () {
        if (!finished && timer === null) timer = setTimeout(poll, POLL_MS);
      });
  }

  function fallBack() {
    if (source) {
      source.close();
      source = null;
    }
    if (!finished && timer === null) timer = setTimeout(poll, POLL_MS);
  }

  if (eventsUrl && window.EventSource) {
    try {
      source = new window.EventSource(eventsUrl);
    } catch (error) {
      source = null;
    }
  }
  if (source) {
    source.addEventListener('progress', function (event) {
      var progress;
      try {
        progress = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      show(progress);
    });
    source.onerror = fallBack;
  } else {
    poll();
  }
})();
