// The diffq playground: a page over the public API only (/v1), so it shows what any client can do.
// Plain ES module, no framework and no build step; everything it loads comes from the gateway itself.

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'EXPIRED']);
const KEY_STORE = 'diffq.playground.apiKey';
const RECENT_STORE = 'diffq.playground.jobs';
const RECENT_MAX = 10;
const FIELDS = ['prompt', 'negativePrompt', 'model', 'scheduler', 'priority', 'width', 'height', 'steps', 'guidanceScale',
  'seed'];

const $ = (id) => document.getElementById(id);
const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** An API answer that was not 2xx, with its problem details when the body was problem+json. */
class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter;
  }
}

// ---- API access ------------------------------------------------------------------------------------

function apiKey() {
  return $('api-key').value.trim();
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey();
  if (key) {
    h.Authorization = `Bearer ${key}`;
  }
  return h;
}

/** fetch with the key; resolves to the Response when 2xx, else throws an ApiError. */
async function call(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!response.ok) {
    let problem = null;
    const type = response.headers.get('Content-Type') || '';
    if (type.includes('json')) {
      problem = await response.json().catch(() => null);
    }
    throw new ApiError(response.status, problem, response.headers.get('Retry-After'));
  }
  return response;
}

async function json(path, options) {
  return (await call(path, { ...options, headers: { Accept: 'application/json', ...(options?.headers || {}) } })).json();
}

// ---- problems: next to the field they name, or in the banner ---------------------------------------

function clearErrors() {
  document.querySelectorAll('[data-error-for]').forEach((p) => { p.textContent = ''; });
  FIELDS.forEach((name) => $(name).removeAttribute('aria-invalid'));
  $('form-error').textContent = '';
  hideBanner();
}

function showBanner(text) {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
  $('banner').textContent = '';
}

/** Puts a problem where the user looks for it: each field error next to its input, the rest in the banner. */
function showProblem(error, { focus = true } = {}) {
  if (!(error instanceof ApiError)) {
    showBanner(`The gateway did not answer: ${error.message}`);
    return;
  }
  const p = error.problem;
  if (error.status === 403 && p.field === 'priority') {
    $('error-priority').textContent = p.detail || p.title;
    $('priority').setAttribute('aria-invalid', 'true');
    if (focus) {
      $('priority').focus();
    }
    return;
  }
  if (error.status === 400 && Array.isArray(p.errors) && p.errors.length) {
    const general = [];
    let first = null;
    for (const { field, message } of p.errors) {
      const slot = document.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent}; ${message}` : message;
        $(field).setAttribute('aria-invalid', 'true');
        first ??= $(field);
      } else {
        general.push(`${field}: ${message}`);
      }
    }
    $('form-error').textContent = general.join('\n');
    if (focus) {
      first?.focus();
    }
    return;
  }
  let text = p.title ? `${p.title}: ${p.detail || ''}` : error.message;
  if (error.status === 401) {
    text = `${p.detail || 'A valid API key is required.'} Enter it in the API key field.`;
    if (focus) {
      $('api-key').focus();
    }
  }
  if (error.retryAfter) {
    text += ` Retry after ${error.retryAfter} s.`;
  }
  showBanner(`${error.status}: ${text}`);
}

// ---- models: the form offers what the chosen model draws --------------------------------------------

let models = [];

function option(value, label = value) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = String(label);
  return o;
}

async function loadModels() {
  for (;;) {
    try {
      const view = await json('/v1/models');
      models = view.models;
      const select = $('model');
      select.replaceChildren(...models.map((m) => option(m.name, m.advertised ? m.name : `${m.name} (no worker yet)`)));
      if (models.length) {
        select.value = models.some((m) => m.name === view.defaultModel) ? view.defaultModel : models[0].name;
        applyModel();
        return;
      }
      $('model-info').textContent = 'No worker has advertised a model yet; waiting…';
    } catch (e) {
      // Asked again every few seconds: never take the focus from someone typing the key.
      showProblem(e, { focus: false });
    }
    await sleep(3000);
  }
}

function currentModel() {
  return models.find((m) => m.name === $('model').value);
}

/** Fills size, scheduler and guidance controls from the model's card, keeping choices it still allows. */
function applyModel() {
  const m = currentModel();
  if (!m) {
    return;
  }
  const sizes = [];
  for (let s = m.minSize; s <= m.maxSize; s += m.sizeMultiple) {
    sizes.push(s);
  }
  for (const id of ['width', 'height']) {
    const select = $(id);
    const before = Number(select.value);
    select.replaceChildren(...sizes.map((s) => option(s)));
    select.value = String(sizes.includes(before) ? before : m.defaultSize);
  }
  $('height').disabled = m.squareOnly;
  if (m.squareOnly) {
    $('height').value = $('width').value;
  }
  const scheduler = $('scheduler');
  const chosen = scheduler.value;
  scheduler.replaceChildren(...m.schedulers.map((s, i) => option(s, i === 0 ? `${s} (default)` : s)));
  scheduler.value = m.schedulers.includes(chosen) ? chosen : m.schedulers[0];
  $('guidanceScale').placeholder = String(m.defaultGuidance);
  $('model-info').textContent = `${m.minSize}–${m.maxSize} px in steps of ${m.sizeMultiple}`
      + `${m.squareOnly ? ', square' : ''}; default ${m.defaultSize}`;
}

// ---- submit ------------------------------------------------------------------------------------------

/** The body as the API takes it: empty inputs are left out, so the gateway's defaults apply. */
function requestBody() {
  const body = { prompt: $('prompt').value };
  const text = (id) => $(id).value.trim();
  if (text('negativePrompt')) body.negativePrompt = $('negativePrompt').value;
  if (text('model')) body.model = text('model');
  if (text('scheduler')) body.scheduler = text('scheduler');
  if (text('priority') && text('priority') !== 'normal') body.priority = text('priority');
  // Numbers go as typed (a number when the input holds one), so that the gateway, not the page, judges them.
  for (const id of ['width', 'height', 'steps', 'guidanceScale', 'seed']) {
    const v = id === 'height' && $('height').disabled ? text('width') : text(id);
    if (v !== '') {
      const n = Number(v);
      body[id] = Number.isFinite(n) ? n : v;
    }
  }
  return body;
}

function idempotencyKey() {
  if (crypto.randomUUID) {
    return crypto.randomUUID();
  }
  // Outside a secure context (plain http to a non-loopback host) randomUUID is missing.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const button = $('submit');
  button.disabled = true;
  try {
    const accepted = await json('/v1/jobs', {
      method: 'POST',
      // One key per click: a retried request (a flaky network) is the same job, never a second one.
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey() },
      body: JSON.stringify(requestBody()),
    });
    remember(accepted.id, $('prompt').value);
    show(accepted.id, accepted);
  } catch (e) {
    showProblem(e);
  } finally {
    button.disabled = false;
  }
}

// ---- the current job -----------------------------------------------------------------------------

let watcher = null;
let current = null; // { id, view, imageUrl, history }

function show(id, initialView) {
  watcher?.stop();
  if (current?.imageUrl) {
    URL.revokeObjectURL(current.imageUrl);
  }
  current = { id, view: null, imageUrl: null, imageLoading: false, history: [] };
  $('job-empty').hidden = true;
  $('job').hidden = false;
  $('job-id').textContent = id;
  // The state shown is this job's from its first view on, never the previous job's.
  $('job-state').textContent = '';
  delete $('job-state').dataset.state;
  $('job-error').textContent = '';
  $('result').hidden = true;
  $('result-image').removeAttribute('src');
  $('progress').value = 0;
  $('progress').max = 1;
  $('progress').dataset.history = '';
  $('progress-text').textContent = '';
  $('same-seed').disabled = true;
  if (initialView) {
    render(initialView);
  }
  markRecent(id);
  watcher = new JobWatcher(id, render);
  watcher.start();
}

function render(view) {
  if (!current || view.id !== current.id) {
    return;
  }
  // The stream and a cancel answer can cross: keep what is newer (a terminal state is final).
  if (current.view && TERMINAL.has(current.view.state) && !TERMINAL.has(view.state)) {
    return;
  }
  current.view = { ...current.view, ...view };
  const v = current.view;
  const state = $('job-state');
  state.textContent = v.state + (v.cancelRequestedAt && !TERMINAL.has(v.state) ? ' (cancel requested)' : '');
  state.dataset.state = v.state;
  updateRecent(v.id, v.state);
  renderQueuePlace();
  if (v.progress && v.progress.totalSteps > 0) {
    const { step, totalSteps } = v.progress;
    const bar = $('progress');
    bar.max = totalSteps;
    bar.value = step;
    $('progress-text').textContent = `${step} / ${totalSteps}`;
    // What the bar has shown, in order: for people reading the page's markup, and for the browser test.
    const seen = `${step}/${totalSteps}`;
    if (current.history.at(-1) !== seen) {
      current.history.push(seen);
      bar.dataset.history = current.history.join(',');
    }
  }
  $('cancel').disabled = TERMINAL.has(v.state);
  $('same-seed').disabled = !v.request;
  if (v.state === 'FAILED' || v.state === 'EXPIRED') {
    $('job-error').textContent = v.error ? `${v.error.type}: ${v.error.message}` : v.state;
  }
  if (v.request) {
    renderParams(v);
  }
  if (v.state === 'SUCCEEDED' && v.links?.image && !current.imageUrl && !current.imageLoading) {
    loadImage(current, v.links.image);
  }
}

function renderQueuePlace() {
  const v = current?.view;
  const place = $('queue-place');
  if (!v || v.state !== 'QUEUED' || !v.queue) {
    place.hidden = true;
    return;
  }
  const q = v.queue;
  let text = q.position === 0 ? 'Next in line' : `${q.position} ${q.position === 1 ? 'job' : 'jobs'} ahead`;
  if (q.estimatedStartAt) {
    text += `; starts ${relative(q.estimatedStartAt)}`;
  }
  if (q.estimatedFinishAt) {
    text += `, done ${relative(q.estimatedFinishAt)}`;
  }
  place.textContent = text;
  place.dataset.position = String(q.position);
  place.hidden = false;
}

function relative(instant) {
  const seconds = Math.round((Date.parse(instant) - Date.now()) / 1000);
  const clock = new Date(instant).toLocaleTimeString();
  return seconds <= 0 ? `about now (${clock})` : `in about ${seconds} s (${clock})`;
}

function renderParams(v) {
  const r = v.request;
  const rows = [
    ['prompt', r.prompt],
    ['negative prompt', r.negativePrompt || '—'],
    ['model', v.model],
    ['size', `${r.width} × ${r.height}`],
    ['steps', r.steps],
    ['guidance', r.guidanceScale],
    ['scheduler', r.scheduler],
    ['priority', r.priority || 'normal'],
    ['seed', r.seed],
  ];
  if (v.timings?.totalMs != null && TERMINAL.has(v.state)) {
    rows.push(['time', `${v.timings.queuedMs ?? '?'} ms queued, ${v.timings.inferenceMs ?? '?'} ms in the model`]);
  }
  $('result-params').replaceChildren(...rows.flatMap(([k, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    dd.dataset.param = k;
    if (k === 'seed') {
      dd.dataset.testid = 'result-seed';
    }
    return [dt, dd];
  }));
  $('result').hidden = false;
}

/** The image with the key (an img src could not send it), as an object URL. */
async function loadImage(job, path) {
  job.imageLoading = true;
  try {
    const blob = await (await call(path, { headers: { Accept: 'image/png' } })).blob();
    if (current !== job) {
      return;
    }
    job.imageUrl = URL.createObjectURL(blob);
    $('result-image').src = job.imageUrl;
    $('result').hidden = false;
  } catch (e) {
    showProblem(e);
  } finally {
    job.imageLoading = false;
  }
}

async function cancel() {
  if (!current) {
    return;
  }
  hideBanner();
  try {
    render(await json(`/v1/jobs/${current.id}`, { method: 'DELETE' }));
  } catch (e) {
    showProblem(e);
  }
}

/** Refills the form with the current job's parameters, seed included: the same picture again. */
function sameSeed() {
  const v = current?.view;
  if (!v?.request) {
    return;
  }
  const r = v.request;
  $('prompt').value = r.prompt;
  $('negativePrompt').value = r.negativePrompt || '';
  if (models.some((m) => m.name === v.model)) {
    $('model').value = v.model;
    applyModel();
  }
  $('width').value = String(r.width);
  $('height').value = String(r.height);
  $('scheduler').value = r.scheduler;
  $('priority').value = r.priority || 'normal';
  $('steps').value = String(r.steps);
  $('guidanceScale').value = String(r.guidanceScale);
  $('seed').value = String(r.seed);
  clearErrors();
  $('prompt').focus();
}

// ---- following a job: server-sent events over fetch, polling as the fallback ------------------------

/**
 * Follows one job until it ends. EventSource cannot send an Authorization header, so the stream is read
 * with fetch and parsed here; a dropped stream is resumed with Last-Event-ID, and after repeated failures
 * (or when the gateway refuses more streams) the job is polled instead.
 */
class JobWatcher {
  constructor(id, onView) {
    this.id = id;
    this.onView = onView;
    this.abort = new AbortController();
    this.lastEventId = null;
    this.retryMs = 1000;
    this.finished = false;
  }

  stop() {
    this.abort.abort();
  }

  get stopped() {
    return this.abort.signal.aborted || this.finished;
  }

  async start() {
    let failures = 0;
    while (!this.stopped) {
      try {
        const h = { Accept: 'text/event-stream' };
        if (this.lastEventId !== null) {
          h['Last-Event-ID'] = this.lastEventId;
        }
        const response = await call(`/v1/jobs/${this.id}/events`, { headers: h, signal: this.abort.signal });
        const reason = await readEvents(response.body, (event) => {
          if (event.id !== undefined) {
            this.lastEventId = event.id;
          }
          if (event.retry) {
            this.retryMs = event.retry;
          }
          if (event.type === 'status') {
            failures = 0;
            const view = JSON.parse(event.data);
            this.onView(view);
            if (TERMINAL.has(view.state)) {
              this.finished = true;
              return 'finished';
            }
          } else if (event.type === 'closed') {
            return 'closed';
          }
          return null;
        }, this.abort.signal);
        if (this.stopped) {
          return;
        }
        // Closed by the gateway (its time limit, its shutdown) without the end: reconnect at once.
        if (reason !== 'closed') {
          failures++;
        }
      } catch (e) {
        if (this.abort.signal.aborted) {
          return;
        }
        if (e instanceof ApiError && (e.status === 404 || e.status === 401 || e.status === 403)) {
          showProblem(e);
          return;
        }
        // 429 too-many-streams: polling is not limited; anything else counts as a failed try.
        failures = e instanceof ApiError && e.status === 429 ? Infinity : failures + 1;
      }
      if (failures >= 3) {
        return this.poll();
      }
      if (failures > 0) {
        await sleep(this.retryMs * failures, this.abort.signal);
      }
    }
  }

  async poll() {
    while (!this.stopped) {
      try {
        const view = await json(`/v1/jobs/${this.id}`, { signal: this.abort.signal });
        this.onView(view);
        if (TERMINAL.has(view.state)) {
          this.finished = true;
          return;
        }
      } catch (e) {
        if (this.abort.signal.aborted) {
          return;
        }
        if (e instanceof ApiError && e.status !== 503 && e.status !== 429) {
          showProblem(e);
          return;
        }
      }
      await sleep(1000, this.abort.signal);
    }
  }
}

/**
 * Reads a text/event-stream body (the WHATWG format: event, data, id and retry fields, comment lines,
 * LF, CR or CRLF line ends) and hands each event to onEvent until it returns non-null or the body ends.
 */
async function readEvents(body, onEvent, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = { type: 'message', data: [] };
  const dispatch = () => {
    const done = event.data.length
        ? onEvent({ type: event.type, data: event.data.join('\n'), id: event.id, retry: event.retry })
        : null;
    event = { type: 'message', data: [] };
    return done;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return null;
      }
      buffer += decoder.decode(value, { stream: true });
      let match;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      while ((match = /\r\n|\n|\r(?!$)/.exec(buffer)) !== null) {
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          const result = dispatch();
          if (result !== null) {
            return result;
          }
          continue;
        }
        if (line.startsWith(':')) {
          continue; // a heartbeat
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) {
          value = value.slice(1);
        }
        if (field === 'event') event.type = value;
        else if (field === 'data') event.data.push(value);
        else if (field === 'id' && !value.includes('\0')) event.id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) event.retry = Number(value);
      }
    }
  } finally {
    if (!signal.aborted) {
      reader.cancel().catch(() => {});
    }
  }
}

// ---- the last jobs of this browser -------------------------------------------------------------------

function recent() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_STORE) || '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function saveRecent(list) {
  localStorage.setItem(RECENT_STORE, JSON.stringify(list.slice(0, RECENT_MAX)));
  renderRecent();
}

function remember(id, prompt) {
  saveRecent([{ id, prompt, state: 'QUEUED', at: new Date().toISOString() },
    ...recent().filter((j) => j.id !== id)]);
}

function updateRecent(id, state) {
  const list = recent();
  const job = list.find((j) => j.id === id);
  if (job && job.state !== state) {
    job.state = state;
    saveRecent(list);
  }
}

function markRecent(id) {
  document.querySelectorAll('#recent button').forEach((b) => {
    b.setAttribute('aria-current', String(b.dataset.id === id));
  });
}

function renderRecent() {
  const list = recent();
  $('recent-empty').hidden = list.length > 0;
  $('recent').replaceChildren(...list.map((job) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.id = job.id;
    button.dataset.testid = 'recent-job';
    button.title = `${job.id} — ${job.at}`;
    button.setAttribute('aria-current', String(current?.id === job.id));
    const prompt = document.createElement('span');
    prompt.className = 'prompt';
    prompt.textContent = job.prompt;
    const state = document.createElement('span');
    state.className = 'state';
    state.dataset.state = job.state;
    state.textContent = job.state;
    button.append(prompt, state);
    button.addEventListener('click', () => {
      clearErrors();
      show(job.id);
    });
    li.append(button);
    return li;
  }));
}

// ---- the queue panel -----------------------------------------------------------------------------

async function pollQueue() {
  for (;;) {
    let wait = 3000;
    try {
      const q = await json('/v1/queue');
      renderQueue(q.models || []);
      limitPriority(q.you?.maxPriority);
    } catch (e) {
      const quiet = document.createElement('p');
      quiet.className = 'quiet';
      quiet.textContent = e instanceof ApiError && e.status === 404 ? 'Queue details unavailable on this gateway.'
          : e instanceof ApiError && e.status === 401 ? 'Needs an API key.' : 'Queue details unavailable just now.';
      $('queue').replaceChildren(quiet);
      // Nothing to see there soon: ask again now and then, quietly.
      wait = e instanceof ApiError && e.status === 404 ? 30000 : 5000;
    }
    await sleep(wait);
  }
}

/**
 * Offers only the priorities the API key may ask for (all of them on an open gateway); the select lists them most
 * urgent first.
 */
function limitPriority(max) {
  const all = [...$('priority').options].map((o) => o.value);
  const allowed = max ? all.slice(all.indexOf(max)) : all;
  for (const o of $('priority').options) {
    o.disabled = !allowed.includes(o.value);
  }
  if (!allowed.includes($('priority').value)) {
    $('priority').value = 'normal';
  }
  $('priority-info').textContent = max ? `This key may ask for ${max} at most.` : '';
}

function renderQueue(list) {
  if (!list.length) {
    const p = document.createElement('p');
    p.className = 'quiet';
    p.textContent = 'No model is served yet.';
    $('queue').replaceChildren(p);
    return;
  }
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of ['model', 'waiting', 'running', 'workers', 'oldest wait']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const m of list) {
    const row = body.insertRow();
    row.dataset.model = m.model;
    const oldest = m.oldestWaitSeconds == null ? '—' : `${Math.round(m.oldestWaitSeconds)} s`;
    for (const cell of [m.model, m.waiting ?? '—', m.running ?? '—', m.workers ?? '—', oldest]) {
      row.insertCell().textContent = String(cell);
    }
  }
  $('queue').replaceChildren(table);
}

// ---- start -------------------------------------------------------------------------------------------

function init() {
  const key = $('api-key');
  key.value = localStorage.getItem(KEY_STORE) || '';
  key.addEventListener('change', () => {
    if (apiKey()) {
      localStorage.setItem(KEY_STORE, apiKey());
    } else {
      localStorage.removeItem(KEY_STORE);
    }
    hideBanner();
  });
  $('model').addEventListener('change', applyModel);
  $('width').addEventListener('change', () => {
    if ($('height').disabled) {
      $('height').value = $('width').value;
    }
  });
  $('job-form').addEventListener('submit', submit);
  $('cancel').addEventListener('click', cancel);
  $('same-seed').addEventListener('click', sameSeed);
  // Typing in a field takes its error away.
  for (const name of FIELDS) {
    $(name).addEventListener('input', () => {
      $(name).removeAttribute('aria-invalid');
      document.querySelector(`[data-error-for="${name}"]`).textContent = '';
    });
  }
  setInterval(renderQueuePlace, 1000);
  renderRecent();
  loadModels();
  pollQueue();
}

init();
