// Designer page of the Tuhui dispatch service. Vanilla JS, no CDN; every server value is put into
// the page with textContent (never innerHTML), so job data cannot inject markup.
"use strict";

(() => {
  const labels = JSON.parse(document.getElementById("labels").textContent);
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  const state = {
    key: store.getItem("tuhui.key") || "",
    designer: store.getItem("tuhui.designer") || "",
    objectUrl: null,
  };

  const ERROR_TEXT = {
    job_already_claimed: "该任务已被其他设计师接走",
    not_job_claimer: "这不是您接的任务",
    job_state_conflict: "任务状态已变化，请刷新",
    job_not_found: "任务不存在",
    unauthorized: "密钥无效或已过期，请重新登录",
    forbidden: "该密钥没有设计师权限",
    wrong_result_format: "结果文件格式不符合该任务的要求",
    result_rejected: "结果文件无法识别",
    result_too_large: "结果文件太大",
    unsafe_svg: "SVG 文件含有不安全的内容",
    original_unavailable: "原图暂时无法获取",
  };
  const ANALYSIS_LABELS = {
    complexity: "复杂度",
    aspect_ratio: "比例",
    perspective: "透视",
    width: "宽",
    height: "高",
  };
  const CALLBACK_TEXT = { pending: "回传中", sent: "已回传", rejected: "回传被拒绝，请联系客服" };

  function say(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.dataset.kind = kind || "info";
  }

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign({ Authorization: "Bearer " + state.key }, opts.headers || {});
    const response = await fetch(path, opts);
    if (!response.ok) {
      const error = new Error(response.statusText || "HTTP " + response.status);
      error.code = "http_" + response.status;
      try {
        const body = await response.json();
        error.code = body.error.code;
        error.message = body.error.message;
      } catch (_ignored) {
        // Not our JSON error shape (a proxy page); keep the HTTP status.
      }
      throw error;
    }
    return response;
  }

  function explain(error) {
    return (ERROR_TEXT[error.code] || "操作失败") + "（" + error.message + "）";
  }

  function summarize(value) {
    if (value === null || value === undefined || value === "") return "无";
    if (typeof value !== "object") return String(value);
    const parts = [];
    for (const [name, item] of Object.entries(value)) {
      if (item === null || item === undefined || name === "operation") continue;
      if (typeof item !== "object") {
        parts.push((ANALYSIS_LABELS[name] || name) + "：" + item);
      } else if (name === "text" && Array.isArray(item.lines) && item.lines.length) {
        parts.push("文字：" + item.lines.join(" / "));
      }
    }
    return parts.join("\n") || "无";
  }

  function yuan(fen) {
    return "¥" + (Number(fen || 0) / 100).toFixed(2);
  }

  function summarizeQuote(quote) {
    if (!quote || typeof quote !== "object") return summarize(quote);
    const items = Array.isArray(quote.items) ? quote.items : [];
    const lines = items
      .filter((item) => item && item.label)
      .map((item) => item.label + "：" + yuan(item.amount_fen));
    if (typeof quote.total_fen === "number") lines.push("合计 " + yuan(quote.total_fen));
    return lines.join("\n") || "无";
  }

  function formatTime(iso) {
    if (!iso) return "";
    return iso.replace("T", " ").slice(0, 16);
  }

  function renderJob(job, mode) {
    const node = $("job-template").content.firstElementChild.cloneNode(true);
    node.dataset.jobId = job.job_id;
    node.dataset.status = job.status;
    node.querySelector(".task-id").textContent = job.task_id;
    node.querySelector(".operation").textContent = labels.operations[job.operation] || job.operation;
    node.querySelector(".status").textContent = labels.statuses[job.status] || job.status;
    node.querySelector(".overdue").hidden = !job.overdue;
    node.querySelector(".reason").textContent = job.reason;
    node.querySelector(".deliver").textContent = job.deliver_as || "";
    node.querySelector(".notes").textContent = job.customer_notes || "无";
    node.querySelector(".analysis").textContent = summarize(job.analysis);
    node.querySelector(".quote").textContent = summarizeQuote(job.quote);
    const showDeadline = mode === "mine" && job.deadline_at;
    node.querySelector(".deadline").textContent = showDeadline ? formatTime(job.deadline_at) : "";
    node.querySelector(".deadline").hidden = !showDeadline;
    node.querySelector(".deadline-label").hidden = !showDeadline;
    const showCallback = mode === "done";
    node.querySelector(".callback").textContent = showCallback
      ? CALLBACK_TEXT[job.callback_status] || job.callback_status || ""
      : "";
    node.querySelector(".callback").hidden = !showCallback;
    node.querySelector(".callback-label").hidden = !showCallback;
    node.querySelector(".claim").hidden = mode !== "open";
    node.querySelector(".release").hidden = mode !== "mine";
    node.querySelector(".finish-form").hidden = mode !== "mine";
    node.querySelector(".view-original").addEventListener("click", () => viewOriginal(job));
    node.querySelector(".claim").addEventListener("click", () => claim(job));
    node.querySelector(".release").addEventListener("click", () => release(job));
    node.querySelector(".finish-form").addEventListener("submit", (event) => {
      event.preventDefault();
      finish(job, event.currentTarget);
    });
    return node;
  }

  function fill(kind, jobs, mode) {
    const list = $(kind + "-list");
    list.replaceChildren(...jobs.map((job) => renderJob(job, mode)));
    $(kind + "-count").textContent = "（" + jobs.length + "）";
    $(kind + "-empty").hidden = jobs.length > 0;
  }

  async function getJson(path) {
    return (await api(path)).json();
  }

  async function refresh() {
    const who = encodeURIComponent(state.designer);
    const [open, mine, done, load, reminders] = await Promise.all([
      getJson("/api/v1/jobs?status=open"),
      getJson("/api/v1/jobs?status=claimed&designer=" + who),
      getJson("/api/v1/jobs?status=done&designer=" + who),
      getJson("/api/v1/designers/workload"),
      getJson("/api/v1/reminders?designer=" + who),
    ]);
    fill("open", open.data, "open");
    fill("mine", mine.data, "mine");
    fill("done", done.data, "done");
    const rows = load.data.map((w) => {
      const tr = document.createElement("tr");
      for (const value of [w.designer, w.claimed, w.overdue, w.done]) {
        const td = document.createElement("td");
        td.textContent = String(value);
        tr.appendChild(td);
      }
      return tr;
    });
    document.querySelector("#workload tbody").replaceChildren(...rows);
    $("reminders").hidden = reminders.data.length === 0;
    $("reminder-list").replaceChildren(
      ...reminders.data.slice(0, 5).map((r) => {
        const li = document.createElement("li");
        li.textContent = formatTime(r.created_at) + "  " + r.message;
        return li;
      })
    );
  }

  async function guarded(action, success) {
    try {
      await action();
      if (success) say(success, "ok");
    } catch (error) {
      say(explain(error), "error");
      if (error.code === "unauthorized") logout(false);
    }
    if (state.key) {
      try {
        await refresh();
      } catch (error) {
        say(explain(error), "error");
      }
    }
  }

  function postJson(path, body) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  function claim(job) {
    return guarded(
      () => postJson("/api/v1/jobs/" + encodeURIComponent(job.job_id) + "/claim", { designer: state.designer }),
      "接单成功：" + job.task_id
    );
  }

  function release(job) {
    return guarded(
      () => postJson("/api/v1/jobs/" + encodeURIComponent(job.job_id) + "/release", { designer: state.designer }),
      "已放弃：" + job.task_id + "，任务回到待接单"
    );
  }

  function finish(job, form) {
    const file = form.querySelector(".result-file").files[0];
    if (!file) {
      say("请先选择结果文件", "error");
      return Promise.resolve();
    }
    const data = new FormData();
    data.append("designer", state.designer);
    data.append("result", file, file.name);
    say("正在上传 " + file.name + " …", "info");
    return guarded(
      () => api("/api/v1/jobs/" + encodeURIComponent(job.job_id) + "/finish", { method: "POST", body: data }),
      "上传成功，任务 " + job.task_id + " 已完成，结果正在回传给客服系统"
    );
  }

  async function viewOriginal(job) {
    try {
      const blob = await (await api("/api/v1/jobs/" + encodeURIComponent(job.job_id) + "/original")).blob();
      if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
      state.objectUrl = URL.createObjectURL(blob);
      $("viewer-img").src = state.objectUrl;
      $("viewer").hidden = false;
    } catch (error) {
      say(explain(error), "error");
    }
  }

  function showWork(loggedIn) {
    $("login").hidden = loggedIn;
    $("work").hidden = !loggedIn;
    $("whoami").hidden = !loggedIn;
    $("whoami-name").textContent = state.designer;
  }

  function logout(clearMessage) {
    state.key = "";
    store.removeItem("tuhui.key");
    store.removeItem("tuhui.designer");
    showWork(false);
    if (clearMessage !== false) say("已退出", "info");
  }

  async function login(event) {
    event.preventDefault();
    state.key = $("key").value.trim();
    state.designer = $("designer").value.trim();
    if (!state.key || !state.designer) {
      say("请输入密钥和姓名", "error");
      return;
    }
    try {
      await refresh();
    } catch (error) {
      say(explain(error), "error");
      state.key = "";
      return;
    }
    store.setItem("tuhui.key", state.key);
    store.setItem("tuhui.designer", state.designer);
    showWork(true);
    say("欢迎，" + state.designer, "ok");
  }

  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  $("refresh").addEventListener("click", () => guarded(async () => {}, "已刷新"));
  $("viewer-close").addEventListener("click", () => {
    $("viewer").hidden = true;
  });

  if (state.key && state.designer) {
    showWork(true);
    guarded(async () => {});
  }
  window.setInterval(() => {
    if (state.key) refresh().catch((error) => say(explain(error), "error"));
  }, 20000);
})();
