// crmbridge playground: the demo tenant's visitor chat and desk.
//
// Everything shown comes from the server's view of one conversation
// (api/feed, server-sent events), rebuilt on every change: the page keeps
// no state of its own but the conversation ID (in the URL's #c=) and what
// the user is typing. Content from the bot is text, never markup.
"use strict";

const $ = (id) => document.getElementById(id);

// h builds an element: h("div", {class: "x", onclick: fn}, child, "text", …).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(path, size = 14) {
  const ns = "http://www.w3.org/2000/svg";
  const s = document.createElementNS(ns, "svg");
  s.setAttribute("viewBox", "0 0 24 24");
  s.setAttribute("width", size);
  s.setAttribute("height", size);
  s.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", path);
  p.setAttribute("fill", "none");
  p.setAttribute("stroke", "currentColor");
  p.setAttribute("stroke-width", "2");
  p.setAttribute("stroke-linecap", "round");
  p.setAttribute("stroke-linejoin", "round");
  s.append(p);
  return s;
}
const ICON_EXTERNAL = "M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 01-1 1H5a1 1 0 01-1-1V7a1 1 0 011-1h5";
const ICON_LOCK = "M7 11V8a5 5 0 0110 0v3M6 11h12v9H6z";

const clock = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit", second: "2-digit"});
const time = (iso) => (iso ? clock.format(new Date(iso)) : "");

// Only web links become anchors: a bot's "javascript:" URL stays text.
function safeURL(u) {
  try {
    const url = new URL(u);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
  } catch {
    return "";
  }
}

// ---- the conversation and its feed ----

let conv = "";
let feed = null;
let view = null;
let started = "";          // the conversation we sent conversation.started for
let typingTimer = 0;
const openEvents = new Set(); // expanded rows of the Events tab

function newConversationID() {
  const r = new Uint8Array(4);
  crypto.getRandomValues(r);
  return "pg-" + Date.now().toString(36) + "-" + Array.from(r, (b) => b.toString(16).padStart(2, "0")).join("");
}

function conversationFromHash() {
  const m = /^#c=([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/.exec(location.hash);
  return m ? m[1] : "";
}

function openConversation(id) {
  conv = id;
  view = null;
  if (feed) feed.close();
  $("messages").replaceChildren();
  $("pcid").textContent = "generic:demo:" + conv;
  setLive("connecting");
  feed = new EventSource("api/feed?conversation=" + encodeURIComponent(conv));
  feed.addEventListener("open", () => setLive("live"));
  feed.addEventListener("error", () => setLive(feed.readyState === EventSource.CLOSED ? "down" : "connecting"));
  feed.addEventListener("view", (e) => {
    const v = JSON.parse(e.data);
    if (v.conversation !== conv) return;
    view = v;
    render(v);
    // A new conversation starts with the visitor's profile, so the bot
    // greets first and a handover carries the session parameters.
    if (v.timeline.length === 0 && started !== conv) {
      started = conv;
      send("conversation.started");
    }
  });
}

function setLive(state) {
  $("live").dataset.state = state;
  $("live-text").textContent = {live: "Live", connecting: "Connecting…", down: "Disconnected"}[state];
}

async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  } catch (e) {
    toast("The local stack does not answer: is make run still running?", true);
    return null;
  }
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    toast((answer.error && answer.error.message) || "HTTP " + res.status, true);
    return null;
  }
  return answer;
}

function send(type, extra = {}) {
  return post("api/send", {conversation: conv, type, ...extra});
}

let toastTimer = 0;
function toast(text, bad) {
  const t = $("toast");
  t.textContent = text;
  t.classList.toggle("bad", !!bad);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- reading the view ----

const ok = (s) => s.status >= 200 && s.status < 300;

// outcome is what the bridge's answer, and then its queue consumer, mean
// for an event the page sent: the bridge answers once the event is queued;
// the consumer's outcome (delivery) says what became of it.
function outcome(s) {
  if (s.error) return {cls: "bad", text: "Bridge unreachable"};
  if (!s.status) return {cls: "", text: "Sending…"};
  if (ok(s)) {
    const ev = (s.answer && s.answer.events) || {};
    if (ev.duplicate) return {cls: "", text: "Duplicate"};
    if (!ev.queued) return {cls: "ok", text: "Accepted"};
    switch (s.delivery) {
      case "sent": return {cls: "ok", text: "Delivered"};
      case "held": return {cls: "held", text: "Held for the desk"};
      case "fallback": return {cls: "held", text: "Handed to a human: the AI agent was unreachable"};
      case "dead": return {cls: "bad", text: "Not delivered · see the dead letters"};
      case "retry": return {cls: "", text: "Queued · retrying"};
      default: return {cls: "", text: "Queued"};
    }
  }
  const code = s.answer && s.answer.error && s.answer.error.code;
  return {cls: "bad", text: "Not delivered · " + (code || "HTTP " + s.status)};
}

// derive walks the timeline once: what the chat shows, who has the
// conversation, and the desk's current handover.
function derive(v) {
  const chat = [];
  let mode = "bot";
  let agent = "";
  let handover = null;
  const sys = (key, text, tone) => chat.push({kind: "system", key, text, tone});
  // What a widget-escalated visitor sees comes from the AI agent's widget
  // API (the fake agent records it); with a real AI agent, from the desk's
  // own accepted events.
  const widget = (key, w) => {
    switch (w.eventType) {
      case "escalationQueueUpdate":
        sys(key, "You're number " + (w.queuePosition || "?") + " in the queue" + (w.waitingTime ? " · about " + w.waitingTime + " min" : ""), "warn");
        break;
      case "escalationSuccess":
        agent = w.agent || "An agent";
        mode = "human";
        sys(key, agent + " joined the chat", "good");
        break;
      case "message":
        chat.push({kind: "human", key, name: agent || "Agent", text: w.text});
        break;
      case "agentDisconnect":
        sys(key, (agent || "The agent") + " left the chat · the assistant is back");
        mode = "bot";
        break;
      case "escalationFailed":
        sys(key, "No agent could take the chat · the assistant is back", "bad");
        mode = "bot";
        break;
    }
  };
  const closeHandover = (how) => { if (handover && handover.open) { handover.open = false; handover.closed = how; } };

  // Dead letters take their place in the conversation by time.
  const items = v.timeline.concat(v.deadLetters.map((dl) => ({kind: "dead", key: dl.key, at: dl.deadAt, dead: dl})));
  items.sort((a, b) => new Date(a.at) - new Date(b.at));
  for (const it of items) {
    if (it.kind === "dead") {
      sys(it.key, it.dead.kind === "outbound" ? "A reply could not reach this chat · kept as a dead letter" : "A message could not reach the assistant · kept as a dead letter", "bad");
    } else if (it.kind === "sent") {
      const s = it.sent;
      switch (s.type) {
        case "conversation.started":
          sys(it.key, "Conversation started · " + time(s.at));
          mode = "bot";
          break;
        case "message":
        case "widgetMessage":
          chat.push({kind: "visitor", key: it.key, sent: s});
          break;
        case "widgetEndSession":
          if (!ok(s)) sys(it.key, "Could not end the chat: " + outcome(s).text, "bad");
          break;
        case "conversation.ended":
          sys(it.key, "Conversation ended");
          closeHandover("ended");
          mode = "ended";
          break;
        case "conversation.handedBack":
          if (ok(s)) {
            sys(it.key, "The support team handed you back to the assistant", "good");
            closeHandover("handed back");
            mode = "bot";
          }
          break;
        default: // the desk's agent.* events
          if (handover) handover.desk.push(it);
          if (ok(s)) {
            if (s.type === "agent.joined" && handover) handover.joined = s.agent;
            if ((s.type === "agent.left" || s.type === "agent.failed") && handover) closeHandover(s.type === "agent.left" ? "agent left" : "nobody took it");
            if (!v.fakeAgent) {
              const w = {
                "agent.queueUpdate": {eventType: "escalationQueueUpdate", queuePosition: s.queuePosition, waitingTime: s.waitMinutes},
                "agent.joined": {eventType: "escalationSuccess", agent: s.agent},
                "agent.message": {eventType: "message", text: s.text},
                "agent.left": {eventType: "agentDisconnect"},
                "agent.failed": {eventType: "escalationFailed"},
              }[s.type];
              if (w) widget(it.key + "-w", w);
            }
          }
      }
    } else if (it.kind === "callback") {
      const d = it.data || {};
      switch (it.type) {
        case "message":
          if (d.message) chat.push({kind: "bot", key: it.key, message: d.message});
          if (mode === "ended") mode = "bot"; // a new session's welcome
          break;
        case "escalation.requested":
        case "widget.escalation": {
          const isWidget = it.type === "widget.escalation";
          handover = {kind: isWidget ? "widget" : "escalate", key: it.key, at: it.at, data: d, open: true, joined: "", desk: []};
          sys(it.key, isWidget ? "Finding a support agent for you…" : "Connecting you to the support team…", "warn");
          mode = isWidget ? "queue" : "desk";
          break;
        }
        case "widget.message":
          if (handover) handover.desk.push(it);
          break;
        case "widget.sessionEnded":
          if (handover) handover.desk.push(it);
          sys(it.key, "You ended the chat with " + (agent || "the agent"));
          closeHandover("visitor ended it");
          mode = "bot";
          break;
      }
    } else if (it.kind === "widget") {
      widget(it.key, it.data || {});
    }
  }
  // The State table has the last word on a handover to the desk.
  if (mode === "desk" && v.status && v.status.state !== "escalated" && handover && handover.kind === "escalate" && !handover.open) mode = "bot";
  return {chat, mode, agent, handover};
}

// ---- rendering ----

// current is the last derived state, for what the composer sends.
let current = null;

// inWidget: a widget-escalated visitor chats in the AI agent's widget, so
// what they write goes to the desk as the widget's widgetMessage.
const inWidget = () => !!(current && current.handover && current.handover.open && current.handover.kind === "widget");

function render(v) {
  const d = derive(v);
  current = d;
  $("fact-agent").textContent = v.agentId.slice(0, 6) + "…" + v.agentId.slice(-4) + (v.fakeAgent ? " (fake)" : "");
  $("fact-agent").title = v.agentId;
  renderHeader(d);
  renderChat(v, d);
  renderSuggestions(d);
  renderDesk(v, d);
  renderActivity(v);
  if (v.problems && v.problems.length) toast(v.problems.join("; "), true);
}

function renderHeader(d) {
  const name = $("who-name"), sub = $("who-sub"), avatar = $("who-avatar");
  const modes = {
    bot: ["Demo Shop Assistant", "AI agent · replies instantly", "AI"],
    desk: ["Support team", "A person from the desk has this chat", "ST"],
    queue: ["Support team", "Waiting for an agent…", "ST"],
    human: [d.agent, "Support agent · a person", (d.agent || "?").slice(0, 2).toUpperCase()],
    ended: ["Demo Shop Assistant", "Conversation ended · write to start again", "AI"],
  };
  const [n, s, a] = modes[d.mode];
  name.textContent = n;
  sub.replaceChildren(h("span", {class: "pulse"}), s);
  sub.dataset.mode = d.mode;
  avatar.textContent = a;
  avatar.dataset.mode = d.mode;
}

function renderChat(v, d) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const keep = box.scrollTop;
  const nodes = [];
  for (const m of d.chat) {
    if (m.kind === "system") nodes.push(h("div", {class: "system " + (m.tone || ""), dataset: {key: m.key}}, m.text));
    else if (m.kind === "visitor") nodes.push(visitorMessage(m));
    else if (m.kind === "bot") nodes.push(...botMessage(m));
    else if (m.kind === "human") {
      nodes.push(h("div", {class: "msg human", dataset: {key: m.key}},
        h("div", {class: "from"}, m.name + " · Support"),
        h("div", {class: "bubble"}, m.text)));
    }
  }
  // The bot is "typing" while a delivered message waits for its answer.
  clearTimeout(typingTimer);
  const last = d.chat[d.chat.length - 1];
  if (last && last.kind === "visitor" && d.mode === "bot" && outcome(last.sent).cls === "ok") {
    const age = Date.now() - new Date(last.sent.at).getTime();
    if (age < 15000) {
      nodes.push(h("div", {class: "typing", "aria-label": "The assistant is typing"}, h("span"), h("span"), h("span")));
      typingTimer = setTimeout(() => view && renderChat(view, derive(view)), 15000 - age);
    }
  }
  box.replaceChildren(...nodes);
  box.scrollTop = atBottom ? box.scrollHeight : keep;
}

function visitorMessage(m) {
  const s = m.sent, o = outcome(s);
  return h("div", {class: "msg visitor " + (o.cls === "bad" ? "failed" : o.cls === "held" ? "held" : ""), dataset: {key: m.key, outcome: o.cls || "pending"}},
    h("div", {class: "bubble"}, s.text),
    h("div", {class: "meta"},
      s.cardIndex !== undefined && s.cardIndex !== null ? h("span", {}, "card " + s.cardIndex + " ·") : null,
      h("span", {}, time(s.at)),
      h("span", {class: "state-" + (o.cls || "none")}, o.text)));
}

// buttons renders a message's (or a card's) buttons: a click sends the
// button's text, and a card's index, as the generic contract's click.
function buttons(list, cardIndex) {
  if (!list || !list.length) return null;
  return h("div", {class: "buttons"}, list.map((b) => {
    const url = safeURL(b.url || b.link || "");
    if (b.type === "link" || url) {
      return url
        ? h("a", {class: "qr link", href: url, target: "_blank", rel: "noopener noreferrer", title: url}, b.text, svg(ICON_EXTERNAL, 13))
        : h("span", {class: "qr link"}, b.text);
    }
    return h("button", {
      class: "qr", type: "button", dataset: {text: b.text, card: cardIndex === undefined ? "" : String(cardIndex)},
      onclick: () => send("message", cardIndex === undefined ? {text: b.text} : {text: b.text, cardIndex}),
    }, b.text);
  }));
}

function botMessage(m) {
  const msg = m.message, out = [];
  if (msg.text || (msg.buttons && msg.buttons.length)) {
    out.push(h("div", {class: "msg bot", dataset: {key: m.key}},
      h("div", {class: "bubble"}, msg.text || ""),
      buttons(msg.buttons)));
  }
  if (msg.carouselCards && msg.carouselCards.length) {
    out.push(h("div", {class: "msg bot wide", dataset: {key: m.key + "-cards"}},
      h("div", {class: "carousel"}, msg.carouselCards.map((c, i) => {
        const img = h("div", {class: "img g" + (i % 4)}, (c.title || "?").slice(0, 1));
        const src = safeURL(c.imageUrl || "");
        if (src && src.startsWith("https:")) {
          const im = h("img", {alt: "", src, loading: "lazy"});
          im.addEventListener("error", () => im.remove());
          img.append(im);
        }
        return h("div", {class: "ccard", dataset: {card: String(i)}},
          img,
          h("div", {class: "body"}, h("div", {class: "title"}, c.title || ""), c.description ? h("div", {class: "desc"}, c.description) : null),
          buttons(c.buttons, i));
      }))));
  }
  return out;
}

// The fake AI agent's words; each chip sends its text as the visitor.
const SUGGEST = [
  ["buttons", "quick replies"], ["link", "link buttons"], ["carousel", "cards"],
  ["action lookupOrder orderId=123", "an HTTP action"], ["action getUserInfo", "a built-in action"],
  ["online", "isTeamOnline"], ["human", "escalate to the desk"], ["widget", "widget escalation"],
];

function renderSuggestions(d) {
  const widget = inWidget();
  const key = widget ? "widget" : "bot";
  const box = $("suggestions");
  if (box.dataset.mode === key) return;
  box.dataset.mode = key;
  if (widget) {
    box.replaceChildren(h("button", {class: "chip", type: "button", title: "widgetEndSession: the visitor closes the AI agent's widget chat", onclick: () => send("widgetEndSession")}, "End the chat with the agent"));
    return;
  }
  box.replaceChildren(...SUGGEST.map(([text, what]) => h("button", {class: "chip", type: "button", title: "Sends “" + text + "”: " + what, onclick: () => send("message", {text})}, text)));
}

function renderDesk(v, d) {
  const st = v.status ? v.status.state : "new";
  const pill = $("conv-state");
  pill.dataset.state = st;
  pill.textContent = {new: "Not started", active: "Active", escalated: "Escalated", ended: "Ended"}[st] || st;
  pill.title = v.status ? "State table: " + st + (v.status.handoverTo ? " · handover to " + v.status.handoverTo : "") + (v.status.deskAgent ? " · desk agent " + v.status.deskAgent : "") + " · updated " + time(v.status.updated) : "the bridge has no conversation item yet";

  renderInbox(v);
  const ho = d.handover && d.handover.open ? d.handover : null;
  $("desk-empty").hidden = !!ho;
  $("handover").hidden = !ho;
  $("desk-escalated").hidden = !(ho && ho.kind === "escalate");
  $("desk-widget").hidden = !(ho && ho.kind === "widget");
  $("outage").checked = !!v.deskOutage;
  if (!ho) return;

  const data = ho.data;
  $("handover-kind").textContent = ho.kind === "widget" ? "Widget" : "Handover";
  $("handover-title").textContent = ho.kind === "widget"
    ? (ho.joined ? ho.joined + " is chatting with the visitor" : "A visitor is waiting for an agent")
    : "The AI agent handed this conversation to you";
  const meta = [["Team", data.escalateTo || "—"], ["Reason", data.reason || "—"], ["Received", time(ho.at)], ["webhook-id", ho.key]];
  $("handover-meta").replaceChildren(...meta.flatMap(([k, val]) => [h("dt", {}, k), h("dd", {class: k === "webhook-id" ? "mono" : ""}, val)]));

  const ctx = data.context || {}, parts = [];
  const params = Object.entries(ctx.parameters || {});
  if (params.length) parts.push(h("h4", {}, "Session parameters"), h("div", {class: "kv"}, params.map(([k, val]) => h("span", {}, h("b", {}, k), val))));
  if (ctx.transcript && ctx.transcript.length) {
    parts.push(h("h4", {}, "Transcript"), h("ul", {class: "transcript"}, ctx.transcript.map((t) => h("li", {}, h("span", {class: "who"}, t.from === "bot" ? "Bot: " : "Visitor: "), t.text))));
  }
  if (ctx.held && ctx.held.length) parts.push(h("h4", {}, "Held messages"), h("ul", {class: "transcript"}, ctx.held.map((t) => h("li", {}, t))));
  if (!parts.length) parts.push(h("p", {class: "hint"}, "No session parameters or transcript came with it."));
  $("handover-context").replaceChildren(...parts);

  if (ho.kind !== "widget") return;
  $("widget-waiting").hidden = !!ho.joined;
  $("widget-join").hidden = !!ho.joined;
  $("widget-live").hidden = !ho.joined;
  $("desk-text").placeholder = "Reply as " + (ho.joined || "the agent") + "…";
  const thread = [];
  for (const it of ho.desk) {
    if (it.kind === "callback" && it.type === "widget.message") {
      thread.push(h("div", {class: "msg from-visitor"}, h("div", {class: "from"}, "Visitor"), h("div", {class: "bubble"}, it.data.text)));
    } else if (it.kind === "callback" && it.type === "widget.sessionEnded") {
      thread.push(h("div", {class: "system"}, "The visitor ended the chat"));
    } else if (it.kind === "sent" && it.sent.type === "agent.message") {
      const o = outcome(it.sent);
      thread.push(h("div", {class: "msg from-agent"}, h("div", {class: "bubble"}, it.sent.text),
        h("div", {class: "meta"}, time(it.sent.at), h("span", {class: "state-" + (o.cls || "none")}, o.text))));
    } else if (it.kind === "sent" && it.sent.type === "agent.joined") {
      thread.push(h("div", {class: "system " + (ok(it.sent) ? "good" : "bad")}, ok(it.sent) ? it.sent.agent + " joined" : "Join refused: " + outcome(it.sent).text));
    } else if (it.kind === "sent" && it.sent.type === "agent.queueUpdate") {
      thread.push(h("div", {class: "system"}, "Queue update: position " + it.sent.queuePosition));
    }
  }
  const tbox = $("desk-thread");
  tbox.replaceChildren(...(thread.length ? thread : [h("div", {class: "none"}, "Say hello to the visitor.")]));
  tbox.scrollTop = tbox.scrollHeight;
}

// summary is one line about a callback, for the desk's inbox.
function summary(it) {
  const d = it.data || {};
  switch (it.type) {
    case "message": {
      const m = d.message || {};
      if (m.type === "carousel") return "carousel · " + (m.carouselCards || []).length + " cards";
      const n = (m.buttons || []).length;
      return (m.text || "") + (n ? " · " + n + (n === 1 ? " button" : " buttons") : "");
    }
    case "escalation.requested":
    case "widget.escalation":
      return "to " + (d.escalateTo || "the default team") + " · " + d.reason;
    case "action":
      return d.name + (d.builtin ? " (built-in)" : "");
    case "widget.message":
      return d.text || "";
    case "widget.sessionEnded":
      return "the visitor closed the widget chat";
    default:
      return "";
  }
}

function renderInbox(v) {
  const cbs = v.timeline.filter((it) => it.kind === "callback");
  $("count-inbox").textContent = cbs.length;
  $("inbox").replaceChildren(...(cbs.length ? cbs.map((it) => h("li", {},
    h("span", {class: "t" + (/escalation/.test(it.type) ? " ho" : "")}, it.type),
    h("span", {class: "s", title: summary(it)}, summary(it)),
    h("span", {class: "w"}, time(it.at)))) : [h("li", {class: "none"}, "Nothing yet")]));
}

function renderActivity(v) {
  $("count-actions").textContent = v.actions.length;
  $("count-dead").textContent = v.deadLetters.length;
  $("count-dead").classList.toggle("alert", v.deadLetters.length > 0);
  $("count-events").textContent = v.timeline.length;

  const actions = v.actions.map((a) => h("div", {class: "item"},
    h("div", {class: "item-head"},
      h("span", {class: "item-title mono"}, a.name),
      h("span", {class: "status " + (a.ok ? "ok" : "bad")}, a.status ? "HTTP " + a.status : "no answer"),
      h("span", {class: "item-sub"}, a.results.length + (a.results.length === 1 ? " result" : " results"))),
    a.results.length ? h("dl", {class: "results"}, a.results.flatMap((r) => [
      h("dt", {}, r.key),
      h("dd", {}, r.sanitize ? [h("span", {class: "masked", title: "sanitize: the AI agent keeps this value out of its logs"}, "•••••"), svg(ICON_LOCK, 12)] : r.value),
    ])) : null,
    a.problem ? h("p", {}, a.problem) : null));
  $("panel-actions").replaceChildren(...(actions.length ? actions : [empty("No actions yet", v.fakeAgent ? "Try “action lookupOrder orderId=123” or “action getUserInfo”." : "Action results are read from the fake AI agent; a real one keeps them.")]));

  const dead = v.deadLetters.map((dl) => h("div", {class: "item dead"},
    h("div", {class: "item-head"},
      h("span", {class: "status bad"}, dl.kind),
      h("span", {class: "item-title"}, dl.kind === "outbound" ? "A bot message did not reach the desk" : "A visitor event did not reach the AI agent"),
      h("span", {class: "item-sub"}, time(dl.deadAt))),
    h("p", {}, dl.reason + " · " + (dl.tries ? dl.tries + (dl.tries === 1 ? " delivery tried" : " deliveries tried") : "") +
      (dl.attempts > 1 ? " · kept " + dl.attempts + " times (failed replays)" : "")),
    command("go run ./cmd/crmbridge deadletters replay '" + dl.key + "'")));
  $("panel-dead").replaceChildren(...(dead.length ? dead : [empty("No dead letters", "Everything reached its destination. Turn on “Simulate a desk outage” to see one.")]));

  const box = $("panel-events"), keep = box.scrollTop;
  const rows = v.timeline.map((it) => {
    const dir = it.kind === "sent" ? ["in", "→", "to the bridge"] : it.kind === "callback" ? ["out", "←", "callback from the bridge"] : ["widget", "⇢", "the AI agent's widget API got"];
    const body = it.kind === "sent" ? it.sent : it.data;
    const row = h("details", {class: "event", open: openEvents.has(it.key), dataset: {key: it.key}},
      h("summary", {},
        h("span", {class: "dir " + dir[0], title: dir[2]}, dir[1]),
        h("span", {class: "etype"}, it.type),
        it.kind === "sent" ? h("span", {class: "status " + (!it.sent.status ? "neutral" : ok(it.sent) ? "ok" : "bad")}, it.sent.status || "…") : null,
        h("span", {class: "etime"}, time(it.at))),
      h("pre", {}, JSON.stringify(body, null, 2)));
    row.addEventListener("toggle", () => (row.open ? openEvents.add(it.key) : openEvents.delete(it.key)));
    return row;
  });
  box.replaceChildren(...(rows.length ? rows : [empty("No events yet", "")]));
  box.scrollTop = keep;
}

function empty(title, text) {
  return h("div", {class: "panel-empty"}, h("strong", {}, title), text);
}

function command(text) {
  const b = h("button", {type: "button"}, "Copy");
  b.addEventListener("click", () => {
    navigator.clipboard.writeText(text).then(() => { b.textContent = "Copied"; }, () => toast("Copy it by hand: " + text));
  });
  return h("div", {class: "cmd"}, h("code", {}, text), b);
}

// ---- wiring ----

function wire() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    send(inWidget() ? "widgetMessage" : "message", {text});
  });
  $("desk-composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("desk-text").value.trim();
    if (!text) return;
    $("desk-text").value = "";
    send("agent.message", {text});
  });
  $("new-chat").addEventListener("click", () => { location.hash = "#c=" + newConversationID(); });
  $("end-chat").addEventListener("click", () => send("conversation.ended"));
  $("hand-back").addEventListener("click", () => send("conversation.handedBack"));
  $("queue-send").addEventListener("click", () => {
    const pos = parseInt($("queue-pos").value, 10), wait = parseInt($("queue-wait").value, 10);
    send("agent.queueUpdate", {queuePosition: isNaN(pos) ? 0 : pos, ...(isNaN(wait) ? {} : {waitMinutes: wait})});
  });
  $("agent-join").addEventListener("click", () => {
    const name = $("agent-name").value.trim();
    if (!name) { toast("Give the agent a name first", true); return; }
    send("agent.joined", {agent: name});
  });
  $("agent-fail").addEventListener("click", () => send("agent.failed"));
  $("agent-leave").addEventListener("click", () => send("agent.left"));
  $("outage").addEventListener("change", (e) => post("api/desk", {conversation: conv, outage: e.target.checked}));
  for (const b of document.querySelectorAll("[data-say]")) b.addEventListener("click", () => send("message", {text: b.dataset.say}));
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const t of document.querySelectorAll(".tab")) {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        $("panel-" + t.dataset.tab).hidden = !on;
      }
    });
  }
  window.addEventListener("hashchange", () => {
    const id = conversationFromHash();
    if (id && id !== conv) openConversation(id);
  });
}

wire();
let first = conversationFromHash();
if (!first) {
  first = newConversationID();
  history.replaceState(null, "", "#c=" + first);
}
openConversation(first);
$("text").focus();
