// The gpuslice dashboard: the document from /api/snapshot drawn once,
// then again on every "snapshot" event of /api/events. Every string comes
// from the cluster (names, reasons, messages) and is set as text, never
// as markup.
'use strict';
(function () {
  const root = document.documentElement;
  root.dataset.loadId = Math.random().toString(36).slice(2);
  let frames = 0;
  // When each slice was first drawn, and from where: the page load's
  // snapshot or the stream.
  const firstSeen = new Map();

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function hue(s) {
    let h = 7;
    for (const c of String(s)) h = (h * 31 + c.codePointAt(0)) >>> 0;
    return h % 360;
  }

  function row(tbody, cells, cls) {
    const tr = el('tr', cls);
    for (const c of cells) tr.appendChild(el('td', null, c));
    tbody.appendChild(tr);
  }

  function fill(id, rows, cellsOf, clsOf) {
    const tbody = document.querySelector('#' + id + ' tbody');
    tbody.replaceChildren();
    for (const r of rows) row(tbody, cellsOf(r), clsOf ? clsOf(r) : null);
  }

  function sliceCell(s, gpu, via) {
    const key = s.foreign ? 'gpu:' + gpu.uuid + '@' + s.start : s.namespace + '/' + s.name;
    if (!firstSeen.has(key)) firstSeen.set(key, { via: via, frame: frames });
    const seen = firstSeen.get(key);
    const cell = el('div', 'slice' + (s.warm ? ' warm' : '') + (s.static ? ' static' : '') +
                    (s.foreign ? ' foreign' : ''));
    cell.dataset.key = key;
    cell.dataset.via = seen.via;
    cell.dataset.frame = String(seen.frame);
    cell.style.gridColumn = (Number(s.start) + 1) + ' / span ' + Math.max(1, Number(s.size));
    cell.style.backgroundColor = 'hsl(' + hue(s.profile) + ', 65%, 78%)';
    if (!s.foreign) cell.style.borderBottomColor = 'hsl(' + hue(s.namespace) + ', 70%, 38%)';
    cell.appendChild(document.createTextNode(String(s.profile)));
    const who = s.foreign ? 'not gpuslice\'s' : s.namespace + '/' + s.pod;
    cell.appendChild(el('span', 'pod', (s.warm ? 'warm: ' : '') + who));
    cell.title = s.profile + ' at ' + s.start + (s.foreign ? '' : ': ' + s.namespace + '/' +
                 s.pod + ' (' + s.name + ', ' + s.phase + ')');
    return cell;
  }

  // A client of a shared GPU: a cell as wide as its memory (mps) or one
  // time slice of the GPU's replicas (timeslice), placed one after another.
  function clientCell(c, at, width) {
    const cell = el('div', 'slice client ' + c.sharing);
    cell.dataset.key = 'client:' + c.namespace + '/' + c.pod + '/' + c.container;
    cell.style.gridColumn = (at + 1) + ' / span ' + width;
    cell.style.backgroundColor = 'hsl(' + hue(c.namespace + '/' + c.pod) + ', 55%, 82%)';
    cell.style.borderBottomColor = 'hsl(' + hue(c.namespace) + ', 70%, 38%)';
    cell.appendChild(document.createTextNode(c.namespace + '/' + c.pod));
    const what = c.sharing === 'mps' ? c.memoryGiB + ' GiB, ' + c.smPercent + '% of the SMs'
                                     : 'a time slice';
    cell.appendChild(el('span', 'pod', what));
    cell.title = c.namespace + '/' + c.pod + ' (' + c.container + '): ' + what;
    return cell;
  }

  // A shared GPU's bar: GiB of memory (mps) or time slices (timeslice).
  function sharedBar(g, bar) {
    const mps = g.mode === 'mps';
    let slots = mps ? Math.floor(Number(g.memoryMiB) / 1024) : Number(g.replicas);
    let at = 0;
    const cells = [];
    for (const c of g.clients) {
      const width = mps ? Math.max(1, Number(c.memoryGiB) || 1) : 1;
      cells.push(clientCell(c, at, width));
      at += width;
    }
    slots = Math.max(1, slots || 0, at);
    bar.style.setProperty('--slices', String(slots));
    bar.style.gridTemplateColumns = 'repeat(' + slots + ', 1fr)';
    for (const cell of cells) bar.appendChild(cell);
  }

  function shared(g) {
    return g.mode === 'mps' || g.mode === 'timeslice';
  }

  function drawNodes(nodes, via) {
    const box = document.getElementById('nodes');
    box.replaceChildren();
    for (const n of nodes) {
      const node = el('div', 'node');
      node.dataset.node = n.name;
      node.appendChild(el('h3', null, n.name));
      for (const g of n.gpus) {
        const line = el('div', 'gpu');
        const clients = g.clients || [];
        const label = el('div', null, 'GPU ' + g.index + '  ' + g.model + '  ' + g.mode +
                          (shared(g) ? '  ' + clients.length + ' client' +
                                       (clients.length === 1 ? '' : 's') : ''));
        if (g.heldBack) label.appendChild(el('span', 'held', '  held back'));
        line.appendChild(label);
        const bar = el('div', 'bar');
        bar.dataset.gpu = g.uuid;
        if (shared(g)) {
          sharedBar({ ...g, clients: clients }, bar);
        } else {
          const slots = Math.max(1, Number(g.memorySlices));
          bar.style.setProperty('--slices', String(slots));
          bar.style.gridTemplateColumns = 'repeat(' + slots + ', 1fr)';
          for (const s of g.slices) bar.appendChild(sliceCell(s, g, via));
        }
        line.appendChild(bar);
        node.appendChild(line);
      }
      box.appendChild(node);
    }
  }

  function drawCounters(c) {
    const box = document.getElementById('counters');
    box.replaceChildren();
    for (const name of Object.keys(c)) {
      const item = el('div', 'counter', name);
      item.appendChild(el('b', null, c[name]));
      box.appendChild(item);
    }
  }

  function more(n) {
    return n > 0 ? ' (and ' + n + ' more)' : '';
  }

  function render(doc, via) {
    drawCounters(doc.counters || {});
    drawNodes(doc.nodes || [], via);
    fill('waiting', doc.waiting || [], p => [p.namespace + '/' + p.name, p.reason, p.message, p.since]);
    fill('running', doc.running || [], p => [p.namespace + '/' + p.name, p.node, p.phase]);
    fill('events', doc.events || [], e => [e.time, e.type, e.object, e.reason,
                                            e.message + (e.count > 1 ? ' (x' + e.count + ')' : '')],
         e => e.type);
    const t = doc.truncated || {};
    document.getElementById('waiting-count').textContent = (doc.counters || {}).waiting + more(t.waiting);
    document.getElementById('running-count').textContent = (doc.counters || {}).running + more(t.running);
    document.getElementById('version').textContent = 'version ' + doc.version;
    document.body.dataset.version = String(doc.version);
  }

  function status(text, cls) {
    const s = document.getElementById('status');
    s.textContent = text;
    s.className = 'status ' + (cls || '');
  }

  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('snapshot', ev => {
      frames += 1;
      document.body.dataset.frames = String(frames);
      render(JSON.parse(ev.data), 'stream');
    });
    es.onopen = () => status('live', 'live');
    es.onerror = () => {
      status('reconnecting', 'down');
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }

  fetch('/api/snapshot', { cache: 'no-store', credentials: 'same-origin' })
    .then(r => { if (!r.ok) throw new Error(r.status + ' ' + r.statusText); return r.json(); })
    .then(doc => { render(doc, 'snapshot'); document.body.dataset.loaded = 'true'; connect(); })
    .catch(err => status('cannot load: ' + err.message, 'down'));
}());
