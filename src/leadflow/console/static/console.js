// The console's own behaviour: CSRF on script calls, live SLA countdowns, one-tap contact logging,
// the kanban's drag and drop, refusals shown in the alert region, and live notifications.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function alert(text, kind) {
    var region = document.getElementById("alerts");
    if (!region) return;
    var item = document.createElement("p");
    item.className = "alert " + (kind || "error");
    item.textContent = text;
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields || {});
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: true,
      headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" }
    }).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) { window.location.href = redirect; }
      if (!response.ok) {
        return response.text().then(function (text) { throw new Error(text || response.statusText); });
      }
      return response;
    });
  }

  // Live countdown to the first-response deadline.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var late = left < 0;
      var s = Math.abs(left), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      var text = (h ? h + "h " : "") + m + "min " + (h ? "" : sec + "s");
      el.textContent = late ? (el.dataset.lateLabel || "late") + " " + text : text;
      el.classList.toggle("late", late);
    });
  }

  // One-tap WhatsApp / call: the link opens as usual; the contact is logged on the way.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-log-contact]");
    if (!link) return;
    post(link.dataset.logContact, { channel: link.dataset.channel }).then(function () {
      var row = link.closest(".row");
      if (row) { row.classList.add("answered"); }
    }).catch(function (error) { alert(error.message); });
  });

  // Kanban: drag a card to another column; a refused move goes back with the reason.
  function kanban() {
    if (typeof Sortable === "undefined") return;
    document.querySelectorAll(".kanban .cards").forEach(function (list) {
      Sortable.create(list, {
        group: "funil",
        animation: 120,
        forceFallback: true,  // mouse and touch events rather than native drag: the same on phones and desktops
        filter: "select, button, input",
        preventOnFilter: false,
        onEnd: function (event) {
          if (event.from === event.to) return;
          var card = event.item;
          post(card.dataset.moveUrl, { stage_id: event.to.dataset.stageId }).then(function () {
            var select = card.querySelector("select[name=stage_id]");
            if (select) select.value = event.to.dataset.stageId;
            alert(card.querySelector("a").textContent + " ✓", "ok");
          }).catch(function (error) {
            event.from.insertBefore(card, event.from.children[event.oldIndex] || null);
            alert(error.message);
          });
        }
      });
    });
  }

  // Bulk actions: one box selects (or clears) every lead of the page.
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.matches || !all.matches("input[data-pick-all]")) return;
    var form = all.form || all.closest("form");
    if (!form) return;
    form.querySelectorAll('input[type=checkbox][name="' + all.dataset.pickAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  // Errors of HTMX requests: show the server's explanation.
  document.addEventListener("htmx:responseError", function (event) {
    alert(event.detail.xhr.responseText || event.detail.xhr.statusText);
  });

  // New leads without reload: the server pushes an event per lead; the broker it was assigned to is notified.
  function live() {
    var stream = document.body.dataset.stream;
    if (!stream || typeof EventSource === "undefined") return;
    var source = new EventSource(stream);
    source.addEventListener("notice", function (message) {
      var notice = JSON.parse(message.data);
      alert(notice.text, "ok");
      if (window.Notification && Notification.permission === "granted") new Notification(notice.text);
    });
    source.addEventListener("unread", function (message) {
      var badge = document.getElementById("notice-count");
      if (!badge) return;
      var unread = JSON.parse(message.data).unread;
      badge.textContent = unread;
      badge.hidden = !unread;
    });
    source.addEventListener("lead", function (message) {
      var lead = JSON.parse(message.data);
      alert(lead.text, "ok");
      document.body.dispatchEvent(new CustomEvent("lead-created", { detail: lead }));
      if (lead.mine && window.Notification && Notification.permission === "granted") {
        new Notification(lead.text);
      }
    });
  }

  // Stage colours and bar lengths come as data attributes: the CSP refuses inline style attributes, not styles
  // set from this script. Applied on load and to every fragment htmx swaps in.
  function paint(root) {
    root.querySelectorAll("[data-fill], [data-border], [data-share]").forEach(function (el) {
      if (el.dataset.fill) el.style.background = el.dataset.fill;
      if (el.dataset.border) el.style.borderColor = el.dataset.border;
      if (el.dataset.share) el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.share) || 0)) + "%";
    });
  }
  document.addEventListener("htmx:afterSwap", function (event) { paint(event.target); });

  document.addEventListener("DOMContentLoaded", function () {
    paint(document);
    tick();
    setInterval(tick, 1000);
    kanban();
    live();
  });
})();
