# ruff: noqa: E501  (HTML and JavaScript, kept as written)
"""The one page of `durable-llm ui`: HTML, CSS and plain JavaScript (no build step)."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>durable-llm</title>
<meta name="csrf" content="{{CSRF}}">
<style>
body{font:15px system-ui,sans-serif;margin:0;display:flex;height:100vh;color:#222}
nav{width:300px;border-right:1px solid #ddd;overflow:auto;padding:8px;background:#fafafa}
nav li{list-style:none;padding:6px;cursor:pointer;border-radius:4px}nav li:hover,nav li.on{background:#e8eefc}
nav ul{padding:0}small{color:#777}main{flex:1;display:flex;flex-direction:column;padding:8px 16px}
#log{flex:1;overflow:auto}.msg{margin:8px 0;white-space:pre-wrap}.user b{color:#0a6}.assistant b{color:#36c}
.tool{color:#739;margin-left:16px;font-family:monospace}.result{color:#555;margin-left:16px;font-family:monospace}
.error{color:#b00}#problem{color:#b00;font-weight:bold}.live{color:#36c;opacity:.8}
form{display:flex;gap:8px}textarea{flex:1;height:48px}button{padding:4px 12px}
.approval{background:#fff6d6;padding:8px;margin:8px 0;border-radius:4px}
</style></head><body>
<nav><button id="new">New chat</button><ul id="list"></ul></nav>
<main><div id="head"><b id="title">Pick a conversation or start one</b> <a id="tui" target="_blank"></a>
<small id="usage"></small></div><div id="problem" role="alert"></div><div id="log"></div>
<div id="approvals"></div><form id="send"><textarea id="text" placeholder="Your message"></textarea>
<button>Send</button></form></main>
<script>
const csrf = document.querySelector('meta[name=csrf]').content;
let current = null, source = null, live = null;
const $ = id => document.getElementById(id);
function problem(text) { $('problem').textContent = text || ''; }
async function api(path, body) {
  const init = body === undefined ? {} : {method: 'POST', body: JSON.stringify(body),
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}};
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({error: 'the server answered ' + response.status}));
  if (!response.ok) throw new Error(data.error || ('error ' + response.status));
  return data;
}
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text; return e; }
async function loadList() {
  try {
    const data = await api('/api/conversations');
    $('list').replaceChildren(...data.conversations.map(c => {
      const li = el('li', c.id === current ? 'on' : '');
      li.append(el('div', '', c.id), el('small', '', `${c.state} · ${c.model || ''} · ${c.turns ?? 0} turns · ${c.tokens ?? 0} tokens`));
      li.onclick = () => open_(c.id); return li; }));
  } catch (e) { problem(e.message); }
}
function showMessage(m) {
  for (const p of m.parts) {
    if (p.kind === 'text') { const d = el('div', 'msg ' + m.role); d.append(el('b', '', m.role === 'user' ? 'you: ' : (m.agent || m.role) + ': '), p.text); $('log').append(d); }
    else if (p.kind === 'media') $('log').append(el('div', 'result', `[${p.media_type}] ${p.filename || p.url || p.file_id || p.mime_type || ''}`));
    else if (p.kind === 'tool_call') $('log').append(el('div', 'tool', `→ ${p.name}(${p.arguments_raw})`));
    else if (p.kind === 'tool_result') $('log').append(el('div', 'result' + (p.is_error ? ' error' : ''),
      `← ${p.name || '?'}: ${p.content.map(c => c.text || '').join('') || JSON.stringify(p.value)}`));
  }
}
function showApproval(a) {
  if (document.getElementById('approval-' + a.call_id)) return;
  const box = el('div', 'approval'); box.id = 'approval-' + a.call_id;
  box.append(el('span', '', `The agent wants to run ${a.name}(${a.arguments_raw}) `));
  for (const [label, ok] of [['Approve', true], ['Reject', false]]) {
    const b = el('button', '', label);
    b.onclick = async () => { try { await api(`/api/conversations/${current}/approvals`, {call_id: a.call_id, approved: ok}); box.remove(); }
      catch (e) { problem(e.message); } };
    box.append(b);
  }
  $('approvals').append(box);
}
async function open_(id) {
  current = id; problem(''); if (source) source.close(); live = null;
  $('log').replaceChildren(); $('approvals').replaceChildren(); $('title').textContent = id;
  try {
    const c = await api('/api/conversations/' + encodeURIComponent(id));
    c.messages.forEach(showMessage); c.pending_approvals.forEach(showApproval);
    $('usage').textContent = `${c.state} · ${c.model ? c.model + ' · ' : ''}${c.turns} model calls · ${c.usage.input_tokens} in / ${c.usage.output_tokens} out tokens`;
    $('tui').textContent = c.temporal_ui ? 'run in the Temporal UI' : ''; $('tui').href = c.temporal_ui || '#';
    if (c.running) follow(id, c.events_from);
  } catch (e) { problem(e.message); }
  loadList();
}
function follow(id, from) {
  source = new EventSource(`/api/conversations/${encodeURIComponent(id)}/events?from=${from}`);
  source.addEventListener('conversation', m => {
    const e = JSON.parse(m.data);
    if (e.kind === 'delta' && e.delta === 'text') {
      if (!live || live.dataset.call !== e.call + '/' + e.attempt) {
        live = el('div', 'msg assistant live'); live.dataset.call = e.call + '/' + e.attempt;
        live.append(el('b', '', 'assistant: '), el('span')); $('log').append(live);
      }
      const text = live.lastChild; text.textContent = text.textContent.slice(0, e.position) + e.text;
    } else if (e.kind === 'approval_requested') showApproval(e);
    else if (e.kind === 'agent_switched') $('log').append(el('div', 'result', `${e.from_agent} hands the conversation to ${e.to_agent}`));
    else if (e.kind === 'tool_call_started') $('log').append(el('div', 'tool', `→ ${e.name}(${e.arguments_raw})`));
    else if (e.kind === 'tool_call_finished') $('log').append(el('div', 'result' + (e.error ? ' error' : ''),
      `← ${e.name} ${e.error ? 'failed: ' + e.error : 'done'} in ${e.duration_ms} ms`));
    else if (e.kind === 'turn_finished') { if (e.error) problem(e.error); source.close(); open_(id); }
    else if (e.kind === 'conversation_ended') { source.close(); open_(id); }
  });
  source.addEventListener('problem', m => { problem(JSON.parse(m.data)); source.close(); });
}
$('send').onsubmit = async ev => {
  ev.preventDefault(); problem('');
  if (!current) { problem('pick a conversation or start a new chat first'); return; }
  const text = $('text').value; if (!text.trim()) return;
  try { await api(`/api/conversations/${current}/messages`, {text});
    $('text').value = ''; const d = el('div', 'msg user'); d.append(el('b', '', 'you: '), text); $('log').append(d);
  } catch (e) { problem(e.message); }
};
$('new').onclick = async () => { try { const c = await api('/api/conversations', {}); await open_(c.id); } catch (e) { problem(e.message); } };
loadList();
</script></body></html>
"""
