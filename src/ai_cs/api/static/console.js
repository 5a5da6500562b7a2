// 客服工作台: live board (polls a server-rendered fragment) and confirmations for actions.
// No inline script anywhere: the page's Content-Security-Policy allows only this file.
"use strict";

(function () {
  // Fetches a server-rendered fragment every `seconds`, the first time after `firstDelayMs`:
  // `show(html)` gets each answer, `failed()` runs when a fetch fails; an expired session goes
  // to the login page instead.
  function fetchFragment(url, seconds, firstDelayMs, show, failed) {
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) {
            window.location.assign("/console/login?reason=expired");
            return null;
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (html !== null) show(html);
        })
        .catch(failed)
        .finally(function () {
          window.setTimeout(tick, seconds * 1000);
        });
    }
    window.setTimeout(tick, firstDelayMs);
  }

  function pollBoard() {
    var board = document.getElementById("board");
    var status = document.getElementById("live-status");
    if (!board || !status) return;
    var url = board.getAttribute("data-fragment");
    var seconds = parseFloat(status.getAttribute("data-poll-seconds")) || 3;
    var known = {};
    board.querySelectorAll("[data-task-id]").forEach(function (el) {
      known[el.getAttribute("data-task-id") + "|" + el.closest("[data-status]").getAttribute("data-status")] = true;
    });
    var last = board.innerHTML;

    fetchFragment(url, seconds, seconds * 1000, function (html) {
      status.textContent = "实时更新中 · " + new Date().toLocaleTimeString("zh-CN");
      status.classList.remove("stale");
      if (html === last) return;
      last = html;
      board.innerHTML = html;
      board.querySelectorAll("[data-task-id]").forEach(function (el) {
        var key = el.getAttribute("data-task-id") + "|" + el.closest("[data-status]").getAttribute("data-status");
        if (!known[key]) el.classList.add("fresh");
        known[key] = true;
      });
    }, function () {
      status.textContent = "连接中断，正在重试…";
      status.classList.add("stale");
    });
  }

  function confirmActions() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  function scrollMessages() {
    var list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  // The open chat refreshes itself like a chat tool: new bubbles appear without a reload, and
  // the view follows them when staff were already reading the newest message.
  function pollMessages() {
    var list = document.getElementById("messages");
    if (!list || !list.getAttribute("data-fragment")) return;
    var url = list.getAttribute("data-fragment");
    var seconds = parseFloat(list.getAttribute("data-poll-seconds")) || 3;
    var last = null;

    fetchFragment(url, seconds, 0, function (html) {
      if (last === null) { last = html; return; }
      if (html === last) return;
      last = html;
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      list.innerHTML = html;
      if (atBottom) list.scrollTop = list.scrollHeight;
      updateDraft(list);
    }, function () { /* the next tick tries again */ });
  }

  // 辅助回复: a later AI message (the quote once the picture is analysed, the result link) is
  // the new draft: the AI's messages after the buyer's last one.
  function updateDraft(list) {
    var draft = document.getElementById("draft");
    if (!draft) return;
    var texts = [];
    var items = list.querySelectorAll(".message");
    for (var i = items.length - 1; i >= 0; i--) {
      if (items[i].classList.contains("role-customer")) break;
      var body = items[i].querySelector(".body");
      if (items[i].classList.contains("role-ai") && body) texts.unshift(body.textContent);
    }
    if (texts.length) draft.value = texts.join("\n\n");
  }

  // 复制 buttons (assist mode): put the drafted reply on the clipboard.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) return;
        var text = source.value !== undefined ? source.value : source.textContent;
        var done = function () {
          button.textContent = "已复制";
          window.setTimeout(function () { button.textContent = "复制回复"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallback(source); done(); });
        } else {
          fallback(source);
          done();
        }
      });
    });
    function fallback(source) {
      var area = document.createElement("textarea");
      area.value = source.value !== undefined ? source.value : source.textContent;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      document.body.removeChild(area);
    }
  }

  // 辅助回复: a picture dropped anywhere on the form, or pasted (a screenshot copied from 千牛),
  // goes into the file field, so it is sent with the buyer's message.
  function pictureDrop() {
    var form = document.getElementById("assist-form");
    var input = document.getElementById("assist-picture");
    if (!form || !input || typeof DataTransfer === "undefined") return;
    function take(files) {
      for (var i = 0; i < files.length; i++) {
        if (files[i].type.indexOf("image/") === 0) {
          var box = new DataTransfer();
          box.items.add(files[i]);
          input.files = box.files;
          form.classList.add("has-picture");
          return true;
        }
      }
      return false;
    }
    form.addEventListener("dragover", function (event) {
      event.preventDefault();
      form.classList.add("dragging");
    });
    form.addEventListener("dragleave", function () { form.classList.remove("dragging"); });
    form.addEventListener("drop", function (event) {
      event.preventDefault();
      form.classList.remove("dragging");
      if (event.dataTransfer) take(event.dataTransfer.files);
    });
    form.addEventListener("paste", function (event) {
      if (event.clipboardData && take(event.clipboardData.files)) event.preventDefault();
    });
  }

  // Chat composer: Ctrl+Enter (⌘+Enter on a Mac) sends, as in chat tools; Enter is a new line.
  function sendShortcut() {
    document.querySelectorAll("#reply-text, #assist-text").forEach(function (area) {
      area.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && area.form) {
          event.preventDefault();
          if (area.form.requestSubmit) area.form.requestSubmit(); else area.form.submit();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollBoard();
    confirmActions();
    scrollMessages();
    pollMessages();
    copyButtons();
    pictureDrop();
    sendShortcut();
  });
})();
