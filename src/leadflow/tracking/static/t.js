/*! leadflow.js | first-party visit tracking for leadflow | AGPL-3.0-or-later */
// House rule for this file: comments stand on lines of their own. The server serves it with those lines and the
// indentation removed (see leadflow.tracking.service.compact), so no string or regex may span lines.
(function (window, document) {
"use strict";
var VERSION = "1.0.0";
var existing = window.leadflow;
if (existing && existing.version) {
  return;
}
var script = document.currentScript || document.querySelector("script[data-write-key]");
var writeKey = script && script.getAttribute("data-write-key");
if (!writeKey) {
  if (window.console) console.warn("leadflow: the script tag needs data-write-key");
  return;
}
var apiBase = (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
var endpoint = apiBase + "/v1/batch";
var consentRequired = script.getAttribute("data-consent") === "required";
var cookieDomainSetting = script.getAttribute("data-cookie-domain");
// 13 months, the life of the tracking id (renewed on each visit) and of a first touch (never renewed).
var TTL = 396 * 864e5;
var FLUSH_MS = 1000;
var MAX_BATCH = 20;
var MAX_BEACON = 60000;
var MAX_ATTEMPTS = 10;
var MAX_STORED = 100;
var CAMPAIGN = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "li_fat_id"];
var TOUCH = CAMPAIGN.concat(["referrer", "landing_page"]);
var SEGMENT_CAMPAIGN = {utm_source: "source", utm_medium: "medium", utm_campaign: "name", utm_term: "term", utm_content: "content", utm_id: "id"};
var CONTACT = ["name", "email", "phone", "message"];
var LIBRARY = {name: "leadflow.js", version: VERSION};
var PREFIX = "lf_";
var STORED = ["id", "ft", "lt", "uid", "consent", "q"];

function now() {
  return Date.now();
}

function iso() {
  return new Date().toISOString();
}

function random(bytes) {
  var out = "", values = new Uint8Array(bytes), i;
  if (window.crypto && crypto.getRandomValues) {
    crypto.getRandomValues(values);
  } else {
    for (i = 0; i < bytes; i++) values[i] = Math.random() * 256;
  }
  for (i = 0; i < bytes; i++) out += (values[i] + 256).toString(16).slice(1);
  return out;
}

function each(list, fn) {
  for (var i = 0; i < list.length; i++) fn(list[i], i);
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return null;
  }
}

function clip(value, size) {
  return value ? String(value).slice(0, size) : "";
}

// Storage: a cookie on the site's registrable domain, mirrored in localStorage, which restores an expired or
// browser-capped cookie (Safari caps cookies written by scripts at 7 days). Nothing is written without consent.

var consent = null;

function persistent() {
  return consentRequired ? consent === true : consent !== false;
}

function readCookie(name) {
  var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return match ? decodeURIComponent(match[1]) : null;
}

function setCookie(name, value, ms, domain) {
  document.cookie = name + "=" + encodeURIComponent(value) + "; Path=/; SameSite=Lax; Max-Age=" + Math.round(ms / 1000) + (domain ? "; Domain=" + domain : "") + (location.protocol === "https:" ? "; Secure" : "");
}

// The widest domain the browser accepts a cookie on is the registrable one (public suffixes are refused).
function candidateDomains() {
  var host = location.hostname, parts = host.split("."), found = [];
  if (/^[\d.]+$/.test(host) || host.indexOf(":") >= 0 || parts.length < 2) return found;
  for (var i = parts.length - 2; i >= 0; i--) found.push(parts.slice(i).join("."));
  return found;
}

var cookieDomain = null;

function siteDomain() {
  if (cookieDomain !== null) return cookieDomain;
  cookieDomain = cookieDomainSetting || "";
  if (cookieDomain) return cookieDomain;
  each(candidateDomains(), function (domain) {
    if (cookieDomain) return;
    setCookie(PREFIX + "probe", "1", 1e4, domain);
    if (readCookie(PREFIX + "probe")) {
      cookieDomain = domain;
      setCookie(PREFIX + "probe", "", 0, domain);
    }
  });
  return cookieDomain;
}

function local(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (e) {
    return null;
  }
}

function load(name) {
  var value = readCookie(PREFIX + name), saved;
  if (value !== null) return value;
  saved = parse(local(PREFIX + name));
  return saved && saved.e > now() ? saved.v : null;
}

function save(name, value, ms) {
  if (!persistent()) return;
  setCookie(PREFIX + name, value, ms, siteDomain());
  local(PREFIX + name, JSON.stringify({v: value, e: now() + ms}));
}

function forget(name) {
  setCookie(PREFIX + name, "", 0);
  each(candidateDomains(), function (domain) {
    setCookie(PREFIX + name, "", 0, domain);
  });
  local(PREFIX + name, null);
}

// Touches: where a visit came from. The first is kept for 13 months and never replaced; the last is replaced by
// any visit that carries campaign parameters or comes from another site.

function baseHost(host) {
  return (cookieDomain || host.replace(/^www\./, "")).toLowerCase();
}

function externalReferrer(referrer) {
  var host;
  try {
    host = new URL(referrer).hostname.toLowerCase();
  } catch (e) {
    return "";
  }
  var base = baseHost(location.hostname);
  return host === location.hostname.toLowerCase() || host === base || host.slice(-base.length - 1) === "." + base ? "" : referrer;
}

function touchAt(url, referrer) {
  var params = new URL(url).searchParams, touch = {}, campaign = false;
  each(CAMPAIGN, function (key) {
    var value = params.get(key);
    if (value) {
      touch[key] = clip(value, 200);
      campaign = true;
    }
  });
  var external = externalReferrer(referrer);
  if (external) touch.referrer = clip(external, 500);
  touch.landing_page = clip(url, 800);
  touch.at = iso();
  return {touch: touch, fresh: campaign || !!external};
}

function fieldsOf(touch) {
  var out = {};
  each(TOUCH, function (key) {
    if (touch && touch[key]) out[key] = touch[key];
  });
  return out;
}

var firstTouch = parse(load("ft"));
var lastTouch = parse(load("lt"));
var storedFirst = !!firstTouch;
var trackingId = null;
var userId = null;
var traits = {};
var pageId = "lfp_" + random(16);

function arrive(url, referrer) {
  var here = touchAt(url, referrer);
  if (!firstTouch) firstTouch = here.touch;
  if (here.fresh || !lastTouch) lastTouch = here.touch;
}

function remember() {
  if (!persistent()) return;
  trackingId = load("id") || trackingId || "trk_" + random(16);
  save("id", trackingId, TTL);
  userId = userId || load("uid");
  if (!storedFirst && firstTouch) {
    save("ft", JSON.stringify(firstTouch), TTL);
    storedFirst = true;
  }
  if (lastTouch) save("lt", JSON.stringify(lastTouch), TTL);
}

// Events, Segment-shaped, batched to /v1/batch. The write key travels in the body and the body as text/plain, so
// the browser sends a simple CORS request (no preflight) and sendBeacon may carry it.

var queue = [];
var timer = 0;
var retryAt = 0;
var attempts = 0;
var sending = false;
var pageUrl = location.href;
var pageReferrer = document.referrer;

function campaignOf(touch) {
  var out = {};
  for (var key in SEGMENT_CAMPAIGN) {
    if (touch && touch[key]) out[SEGMENT_CAMPAIGN[key]] = touch[key];
  }
  return out;
}

function pageContext() {
  return {url: location.href, path: location.pathname, referrer: pageReferrer, title: document.title, search: location.search};
}

function keep() {
  if (persistent()) local(PREFIX + "q", queue.length ? JSON.stringify(queue.slice(-MAX_STORED)) : null);
}

function schedule(ms) {
  if (timer) return;
  timer = setTimeout(function () {
    timer = 0;
    flush();
  }, Math.max(ms, retryAt - now()));
}

function send(type, fields) {
  var event = {
    type: type,
    messageId: "lf-" + random(16),
    anonymousId: trackingId || pageId,
    timestamp: iso(),
    context: {campaign: campaignOf(firstTouch), page: pageContext(), library: LIBRARY, userAgent: navigator.userAgent, locale: navigator.language}
  };
  if (userId) event.userId = userId;
  for (var key in fields) event[key] = fields[key];
  queue.push(event);
  keep();
  if (queue.length >= MAX_BATCH) flush();
  else schedule(FLUSH_MS);
}

// The next batch: at most MAX_BATCH events and small enough for a beacon.
function nextBatch() {
  var batch = [], body = "";
  each(queue, function (event) {
    if (batch.length >= MAX_BATCH) return;
    var candidate = JSON.stringify({batch: batch.concat([event]), sentAt: iso(), writeKey: writeKey});
    if (batch.length && candidate.length > MAX_BEACON) return;
    batch.push(event);
    body = candidate;
  });
  return {events: batch, body: body};
}

function settle(events) {
  queue = queue.filter(function (event) {
    return events.indexOf(event) < 0;
  });
  keep();
}

function retry(events) {
  attempts++;
  if (attempts >= MAX_ATTEMPTS) {
    attempts = 0;
    settle(events);
  }
  retryAt = now() + Math.min(6e4, 1000 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
  schedule(0);
}

function post(body, keepalive) {
  return fetch(endpoint, {method: "POST", body: body, headers: {"Content-Type": "text/plain"}, credentials: "omit", keepalive: keepalive});
}

function flush(leaving) {
  if (!queue.length || (sending && !leaving)) return;
  if (!leaving && now() < retryAt) return schedule(0);
  var batch = nextBatch();
  if (leaving) {
    if (navigator.sendBeacon && batch.body.length <= MAX_BEACON && navigator.sendBeacon(endpoint, new Blob([batch.body], {type: "text/plain"}))) {
      settle(batch.events);
      if (queue.length) flush(true);
    } else {
      post(batch.body, true).then(function () {}, function () {});
    }
    return;
  }
  sending = true;
  post(batch.body, batch.body.length <= MAX_BEACON).then(function (response) {
    sending = false;
    // 4xx other than 408/429 will not get better by sending again (bad key, origin, body): drop the batch.
    if (response.ok || (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429)) {
      attempts = 0;
      retryAt = 0;
      settle(batch.events);
      if (queue.length) schedule(0);
    } else {
      retry(batch.events);
    }
  }, function () {
    sending = false;
    retry(batch.events);
  });
}

// Forms marked data-leadflow-form get the visit's context as hidden fields; the site's own forms (posting
// anywhere but our /v1/forms/) are also reported as a `form_submitted` track call, which becomes a lead.

function hiddenFields(form) {
  var values = fieldsOf(firstTouch);
  values.lf_tracking_id = trackingId || "";
  values.page_url = location.href;
  values.lf_last_touch = JSON.stringify(fieldsOf(lastTouch));
  values.lf_consent = consent === true ? "1" : consent === false || consentRequired ? "0" : "";
  if (postsToLeadflow(form)) values.lf_message_id = submissionId(form);
  return values;
}

// One id per submission, kept while the contact fields stay the same: a double click is stored once, a corrected
// resubmission (after going back) is a new one.
function submissionId(form) {
  var key = JSON.stringify(contactOf(form));
  if (form.lfKey !== key) {
    form.lfKey = key;
    form.lfId = "lf-" + random(16);
  }
  return form.lfId;
}

function fill(form) {
  var values = hiddenFields(form);
  for (var name in values) {
    var input = form.querySelector("input[name=\"" + name + "\"]");
    if (!input && !values[name]) continue;
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.setAttribute("data-leadflow", "");
      form.appendChild(input);
    }
    if (input.type === "hidden" && (input.hasAttribute("data-leadflow") || !input.value)) {
      input.value = values[name];
      input.setAttribute("data-leadflow", "");
    }
  }
}

function contactOf(form) {
  var fields = {};
  each(CONTACT, function (name) {
    var input = form.querySelector("[data-leadflow-field=\"" + name + "\"]") || form.querySelector("[name=\"" + name + "\"]");
    if (input && input.value) fields[name] = clip(input.value, 5000);
  });
  return fields;
}

function postsToLeadflow(form) {
  try {
    return /^\/v1\/forms\//.test(new URL(form.getAttribute("action") || "", location.href).pathname);
  } catch (e) {
    return false;
  }
}

function fillAll() {
  each(document.querySelectorAll("form[data-leadflow-form]"), fill);
}

function onSubmit(event) {
  var form = event.target;
  if (!form || !form.hasAttribute || !form.hasAttribute("data-leadflow-form")) return;
  fill(form);
  if (postsToLeadflow(form)) return;
  send("track", {event: "form_submitted", properties: {form_key: form.getAttribute("data-leadflow-form"), fields: contactOf(form), first_touch: fieldsOf(firstTouch), last_touch: fieldsOf(lastTouch)}});
  // The page is about to go away: a beacon survives the navigation.
  flush(true);
}

// Chat bridge: a Chatwoot widget learns the tracking id and the first touch, so a conversation joins the visit.

function bridgeChat(ready) {
  var chat = window.$chatwoot;
  if (!chat || !(ready === true || chat.hasLoaded)) return;
  var attributes = fieldsOf(firstTouch), any = false;
  if (trackingId) attributes.lf_tracking_id = trackingId;
  for (var key in attributes) any = true;
  try {
    if (any) {
      chat.setCustomAttributes(attributes);
      attributes.page_url = location.href;
      chat.setConversationCustomAttributes(attributes);
    }
    // Chatwoot's setUser needs a name, an e-mail or an avatar; without one the visitor stays anonymous there.
    if ((userId || trackingId) && (traits.email || traits.name)) {
      var user = {};
      each(["name", "email", "avatar_url"], function (key) {
        if (traits[key]) user[key] = String(traits[key]);
      });
      if (traits.phone) user.phone_number = String(traits.phone);
      chat.setUser(userId || trackingId, user);
    }
  } catch (e) {
    if (window.console) console.warn("leadflow: chat bridge", e);
  }
}

// The public API, replacing the snippet's queue stub.

var api = {
  version: VERSION,
  page: function (name, properties) {
    var props = {url: location.href, path: location.pathname, referrer: pageReferrer, title: document.title, search: location.search};
    for (var key in properties || {}) props[key] = properties[key];
    send("page", typeof name === "string" ? {name: name, properties: props} : {properties: props});
  },
  track: function (name, properties) {
    if (name) send("track", {event: String(name), properties: properties || {}});
  },
  identify: function (id, values) {
    if (typeof id === "string" || typeof id === "number") {
      userId = String(id);
      save("uid", userId, TTL);
    } else {
      values = id;
    }
    for (var key in values || {}) traits[key] = values[key];
    send("identify", {traits: values || {}});
    bridgeChat();
  },
  consent: function (granted) {
    if (granted) {
      consent = true;
      save("consent", "1", TTL);
      remember();
      keep();
      bridgeChat();
    } else {
      consent = false;
      trackingId = null;
      userId = null;
      each(STORED, forget);
    }
    fillAll();
  },
  trackingId: function () {
    return trackingId;
  },
  flush: function () {
    flush();
  }
};

function navigated() {
  if (location.href === pageUrl) return;
  pageReferrer = pageUrl;
  pageUrl = location.href;
  arrive(pageUrl, pageReferrer);
  remember();
  api.page();
}

function start() {
  var calls = existing && existing._q || [];
  var saved = parse(local(PREFIX + "q"));
  // Events a previous page could not deliver (only ever stored with consent): sent again, deduplicated by messageId.
  if (Array.isArray(saved)) queue = saved;
  window.leadflow = api;
  if (consentRequired && load("consent") === "1") consent = true;
  each(calls, function (call) {
    if (call[0] === "consent") api.consent.apply(api, call[1]);
  });
  if (persistent()) siteDomain();
  arrive(location.href, document.referrer);
  remember();
  api.page();
  each(calls, function (call) {
    if (call[0] !== "consent" && api[call[0]]) api[call[0]].apply(api, call[1]);
  });
  var pushState = history.pushState;
  history.pushState = function () {
    var result = pushState.apply(this, arguments);
    navigated();
    return result;
  };
  window.addEventListener("popstate", navigated);
  document.addEventListener("submit", onSubmit, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () {
    flush(true);
  });
  window.addEventListener("chatwoot:ready", function () {
    bridgeChat(true);
  });
  bridgeChat();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fillAll);
  else fillAll();
}

start();
})(window, document);
