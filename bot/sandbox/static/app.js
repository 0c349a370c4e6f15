// learnbot sandbox: one test user's chat with the real bot, live from the emulator.
// Message HTML comes from the server already escaped (bot/sandbox/render.py); everything else
// this script shows is set as text.
"use strict";

const $ = (id) => document.getElementById(id);
const HEADERS = { "X-Learnbot-Sandbox": "1" };

const state = {
  user: null, // the id of the user whose chat is shown
  users: [], // [{id, name, role, messages}]
  seen: {}, // user id -> how many messages the page has shown of that chat
  source: null, // the EventSource of the current chat
  commands: [],
  refused: 0,
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// ------------------------------------------------------------------------------ talking to the server
async function post(path, body) {
  const isForm = body instanceof FormData;
  const response = await fetch(path, {
    method: "POST",
    headers: isForm ? HEADERS : { ...HEADERS, "Content-Type": "application/json" },
    body: isForm ? body : JSON.stringify(body),
  });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : { error: await response.text() };
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function connect(userId) {
  if (state.source) state.source.close();
  state.user = userId;
  state.commands = [];
  localStorage.setItem("learnbot-sandbox-user", String(userId));
  history.replaceState(null, "", `#user=${userId}`);
  clearChat();
  renderUsers();
  closeMenu();
  $("status").textContent = "connecting…";
  const source = new EventSource(`api/events?user=${encodeURIComponent(userId)}`);
  state.source = source;
  const on = (name, handler) =>
    source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("hello", (data) => {
    clearChat(); // a reconnect sends the whole chat again
    $("status").textContent = `@${data.bot}`;
    $("messages").dataset.user = String(data.user);
  });
  on("users", (users) => {
    state.users = users;
    renderUsers();
  });
  on("messages", (change) => applyMessages(change));
  on("commands", (commands) => {
    state.commands = commands;
    renderMenu();
  });
  on("keyboard", (rows) => renderKeyboard(rows));
  on("refused", (items) => items.forEach(addRefused));
  on("problems", (items) => items.forEach((text) => $("problems").append(el("li", { text }))));
  source.onerror = () => {
    $("status").textContent = "reconnecting…";
  };
}

// ------------------------------------------------------------------------------ users
function renderUsers() {
  const nav = $("users");
  nav.replaceChildren();
  for (const user of state.users) {
    const current = user.id === state.user;
    if (current) state.seen[user.id] = user.messages;
    const unread = current ? 0 : user.messages - (state.seen[user.id] ?? user.messages);
    nav.append(
      el(
        "button",
        {
          type: "button",
          "aria-pressed": String(current),
          dataset: { user: String(user.id), role: user.role },
          title: `${user.name}, ${user.role} (Telegram id ${user.id})`,
          onclick: () => current || connect(user.id),
        },
        user.name,
        el("span", { class: "role", text: user.role }),
        unread > 0 ? el("span", { class: "badge", text: String(unread) }) : null,
      ),
    );
    if (!(user.id in state.seen)) state.seen[user.id] = user.messages;
  }
  nav.append(
    el("button", {
      type: "button",
      id: "new-user",
      text: "+ New user",
      title: "Another student, new to the bot",
      onclick: async () => {
        try {
          const user = await post("api/users", {});
          connect(user.id);
        } catch (error) {
          toast(error.message, true);
        }
      },
    }),
  );
}

// ------------------------------------------------------------------------------ messages
function clearChat() {
  const box = $("messages");
  box.querySelectorAll(".msg").forEach((node) => node.remove());
  $("empty").hidden = false;
  renderKeyboard(null);
}

function nearBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function applyMessages({ upsert, remove }) {
  const box = $("messages");
  const follow = nearBottom(box) || upsert.some((view) => !view.from_bot);
  for (const id of remove) box.querySelector(`.msg[data-id="${id}"]`)?.remove();
  for (const view of upsert) {
    const node = renderMessage(view);
    const old = box.querySelector(`.msg[data-id="${view.id}"]`);
    if (old) {
      node.classList.add("flash"); // an edit: in place, as Telegram does
      old.replaceWith(node);
      continue;
    }
    const after = [...box.querySelectorAll(".msg")].find((m) => Number(m.dataset.id) > view.id);
    box.insertBefore(node, after ?? null);
  }
  $("empty").hidden = box.querySelector(".msg") !== null;
  if (follow) box.scrollTop = box.scrollHeight;
}

function renderMessage(view) {
  const bubble = el("div", { class: "bubble" });
  if (view.media) bubble.append(renderMedia(view.media));
  if (view.html) {
    const text = el("div", { class: "text" });
    text.innerHTML = view.html; // escaped by the server
    bubble.append(text);
  }
  const time = new Date(view.date * 1000).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
  });
  bubble.append(el("span", { class: "meta", text: view.edited ? `edited ${time}` : time }));
  const node = el(
    "div",
    {
      class: `msg ${view.from_bot ? "bot" : "user"}`,
      dataset: { id: String(view.id), edited: String(view.edited) },
    },
    bubble,
  );
  if (view.buttons.length) node.append(renderButtons(view));
  return node;
}

function formatSize(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function formatDuration(seconds) {
  if (seconds == null) return "";
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

const ICONS = { video: "▶", audio: "🎵", voice: "🎤", document: "📄", animation: "GIF", sticker: "🙂" };

function renderMedia(media) {
  if (media.kind === "poll") {
    return el(
      "div",
      { class: "poll", dataset: { media: "poll" } },
      el("b", { text: `📊 ${media.question}` }),
      el(
        "ol",
        {},
        ...media.options.map((option) =>
          el("li", {
            class: option.correct ? "correct" : "",
            text: option.correct ? `${option.text} ✓` : option.text,
          }),
        ),
      ),
    );
  }
  if (media.kind === "photo") {
    if (media.url) {
      return el(
        "div",
        { class: "photo", dataset: { media: "photo" } },
        el("img", { src: media.url, alt: "photo" }),
      );
    }
    return el("div", {
      class: "placeholder",
      dataset: { media: "photo" },
      text: "🖼 photo\n(no picture behind this file id)",
    });
  }
  const name =
    media.kind === "audio" && (media.title || media.performer)
      ? [media.performer, media.title].filter(Boolean).join(" – ")
      : media.file_name || media.kind;
  const details = [
    media.kind,
    formatDuration(media.duration),
    formatSize(media.file_size),
    media.url ? "" : "no content",
  ]
    .filter(Boolean)
    .join(" · ");
  const props = { class: "card", dataset: { media: media.kind } };
  if (media.url) Object.assign(props, { href: media.url, target: "_blank", rel: "noopener" });
  return el(
    media.url ? "a" : "div",
    props,
    el("span", { class: "icon", text: ICONS[media.kind] || "📎" }),
    el("span", { class: "what" }, el("b", { text: name }), el("small", { text: details })),
  );
}

function renderButtons(view) {
  const keyboard = el("div", { class: "inline-keyboard" });
  view.buttons.forEach((row, rowIndex) => {
    const line = el("div", { class: "row" });
    row.forEach((button, column) => {
      if (button.kind === "url" && button.url) {
        line.append(el("a", { href: button.url, target: "_blank", rel: "noopener", text: `${button.text} ↗` }));
      } else if (button.kind === "callback") {
        line.append(
          el("button", {
            type: "button",
            text: button.text,
            onclick: (event) => press(event.currentTarget, view.id, rowIndex, column, button.text),
          }),
        );
      } else {
        line.append(
          el("button", { type: "button", disabled: "", title: `a ${button.kind} button`, text: button.text }),
        );
      }
    });
    keyboard.append(line);
  });
  return keyboard;
}

async function press(button, messageId, row, column, text) {
  button.classList.add("pending");
  try {
    const result = await post("api/press", {
      user: state.user,
      message_id: messageId,
      row,
      column,
      text,
    });
    const answer = result.answer;
    if (answer && answer.text) {
      if (answer.show_alert) showAlert(answer.text);
      else toast(answer.text);
    }
  } catch (error) {
    toast(error.message, true);
  } finally {
    button.classList.remove("pending");
  }
}

// ------------------------------------------------------------------------------ sending
async function sendText(text) {
  if (!text.trim()) return;
  try {
    await post("api/send", { user: state.user, text });
  } catch (error) {
    toast(error.message, true);
  }
}

async function sendFile(file) {
  const form = new FormData();
  form.append("user", String(state.user));
  form.append("caption", $("text").value);
  form.append("file", file, file.name);
  $("text").value = "";
  try {
    await post("api/upload", form);
  } catch (error) {
    toast(error.message, true);
  }
}

function renderMenu() {
  const menu = $("menu");
  menu.replaceChildren(
    ...state.commands.map((command) =>
      el(
        "button",
        {
          type: "button",
          dataset: { command: `/${command.command}` },
          onclick: () => {
            closeMenu();
            sendText(`/${command.command}`);
          },
        },
        el("span", { class: "name", text: `/${command.command}` }),
        el("span", { class: "description", text: command.description }),
      ),
    ),
  );
  $("menu-button").hidden = state.commands.length === 0;
  if (!state.commands.length) closeMenu();
}

function closeMenu() {
  $("menu").hidden = true;
  $("menu-button").setAttribute("aria-expanded", "false");
}

function renderKeyboard(rows) {
  const box = $("keyboard");
  box.hidden = !rows;
  box.replaceChildren(
    ...(rows || []).map((row) =>
      el(
        "div",
        { class: "row" },
        ...row.map((label) =>
          el("button", { type: "button", text: label, onclick: () => sendText(label) }),
        ),
      ),
    ),
  );
}

// ------------------------------------------------------------------------------ refused requests
function addRefused(item) {
  state.refused += 1;
  $("refused-count").textContent = String(state.refused);
  $("refused-toggle").classList.add("has-refused");
  $("refused-empty").hidden = true;
  $("refused-list").append(
    el(
      "li",
      { value: String(item.number) },
      el("span", { class: "method", text: item.method }),
      item.chat ? ` to ${item.chat}: ` : ": ",
      el("span", { class: "error", text: `${item.error_code} ${item.description}` }),
      item.detail ? el("div", { class: "detail", text: item.detail }) : null,
    ),
  );
}

// ------------------------------------------------------------------------------ toast and alert
let toastTimer = null;
function toast(text, error = false) {
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("error", error);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), error ? 6000 : 2500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert");
  if (!dialog.open) dialog.showModal();
}

// ------------------------------------------------------------------------------ wiring
function growTextarea() {
  const area = $("text");
  area.style.height = "auto";
  area.style.height = `${Math.min(area.scrollHeight, 120)}px`;
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  $("text").value = "";
  growTextarea();
  closeMenu();
  sendText(text);
});
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("text").addEventListener("input", growTextarea);
$("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (file) sendFile(file);
});
$("menu-button").addEventListener("click", () => {
  const open = $("menu").hidden;
  $("menu").hidden = !open;
  $("menu-button").setAttribute("aria-expanded", String(open));
});
$("refused-toggle").addEventListener("click", () => $("refused").classList.toggle("toggled"));
$("refused-close").addEventListener("click", () => $("refused").classList.remove("toggled"));
// Tapping a /command in a message sends it; a spoiler reveals itself; a long quote expands.
document.addEventListener("click", (event) => {
  const command = event.target.closest(".tg-command");
  if (command) return sendText(command.dataset.command);
  const spoiler = event.target.closest(".tg-spoiler");
  if (spoiler) return spoiler.classList.add("revealed");
  const quote = event.target.closest("blockquote.expandable");
  if (quote) quote.classList.toggle("open");
});

async function start() {
  const response = await fetch("api/users");
  state.users = await response.json();
  const known = new Set(state.users.map((user) => user.id));
  const fromHash = /user=(\d+)/.exec(location.hash);
  const wanted = [fromHash && Number(fromHash[1]), Number(localStorage.getItem("learnbot-sandbox-user"))];
  connect(wanted.find((id) => known.has(id)) ?? state.users[0].id);
}

start();
