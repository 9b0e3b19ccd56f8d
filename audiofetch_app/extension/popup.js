/* The popup: what this page plays, ticked, saved by AudioFetch, and each job's progress. */
const $ = (id) => document.getElementById(id);
const tabs = (typeof browser !== "undefined" && browser.tabs) ? browser : chrome;
const params = new URLSearchParams(location.search);
let preview = null;
const following = new Map();  // job id -> its <li>

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

async function targetTab() {
  if (params.get("tab")) return Number(params.get("tab"));
  const [tab] = await tabs.tabs.query({active: true, currentWindow: true});
  return tab ? tab.id : null;
}

async function collect(tabId) {
  const [result] = await tabs.scripting.executeScript({target: {tabId},
    func: audiofetchCollect});
  const found = result.result;
  const media = params.get("media");
  if (media && !found.media.some((m) => m.url === media)) {
    found.media.unshift({url: media, title: "", kind: "element", mime: null});
  }
  return found;
}

function showTracks(answer) {
  $("title").textContent = answer.title || answer.link.url;
  const list = $("tracks");
  list.textContent = "";
  const tracks = answer.tracks || [];
  tracks.forEach((track, index) => {
    const item = document.createElement("li");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.dataset.index = String(index);
    box.addEventListener("change", updateSave);
    const label = document.createElement("label");
    label.append(box, ` ${track.title || track.url}`);
    item.append(label);
    list.append(item);
  });
  const many = tracks.length > 1;
  $("all-row").hidden = !many;
  $("as").hidden = !many;
  if (answer.link.kind === "space") {
    const meta = answer.meta || {};
    $("summary").textContent = answer.problem ||
      [meta.host_name || meta.host, meta.state].filter(Boolean).join(" · ");
    $("save").disabled = Boolean(answer.problem);
  } else {
    $("summary").textContent = tracks.length ?
      `${tracks.length} track${tracks.length === 1 ? "" : "s"} found` : "";
  }
  $("found").hidden = false;
  updateSave();
}

function chosen() {
  const tracks = (preview && preview.tracks) || [];
  return [...document.querySelectorAll("#tracks input:checked")]
    .map((box) => tracks[Number(box.dataset.index)]);
}

function updateSave() {
  if (!preview || preview.link.kind === "space") return;
  const count = chosen().length;
  $("save").disabled = count === 0;
  $("save").textContent = count > 1 ? `Save ${count} tracks` : "Save";
}

function showJob(job) {
  const item = following.get(job.id);
  if (!item) return;
  const state = item.querySelector(".state");
  if (job.state === "done") state.textContent = "saved";
  else if (job.state === "failed") state.textContent = job.error || "failed";
  else if (job.state === "running" && job.progress != null) {
    state.textContent = `${Math.round(job.progress * 100)} %`;
  } else state.textContent = job.state;
  item.dataset.state = job.state;
  if (job.state === "done" && job.output_path) item.title = job.output_path;
}

async function save() {
  $("save").disabled = true;
  const body = {url: preview.link.url, kind: preview.link.kind};
  if (preview.link.kind === "page") {
    body.options = {tracks: chosen()};
    body.zip = document.querySelector("input[name=as]:checked").value === "zip";
    body.name = preview.title || null;
  }
  try {
    const {job_id: jobId} = await afApi("/api/download", {method: "POST", body});
    const item = document.createElement("li");
    item.dataset.jobId = jobId;
    item.append(preview.title || preview.link.url);
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = "queued";
    item.append(state);
    $("job-list").append(item);
    $("jobs").hidden = false;
    following.set(jobId, item);
    say("AudioFetch is saving it; you may close this.");
    showJob(await afApi(`/api/status/${jobId}`));
  } catch (e) {
    say(e.message, true);
    $("save").disabled = false;
  }
}

async function start() {
  const settings = await afSettings();
  $("open-app").href = settings.address + "/";
  afFollow(showJob, settings);
  try {
    let request;
    if (params.get("link")) request = {url: params.get("link"), kind: "auto"};
    else {
      const tabId = await targetTab();
      if (tabId === null) throw new AfError("There is no page to look at.");
      request = afPreviewRequest(await collect(tabId));
    }
    preview = await afApi("/api/preview", {method: "POST", body: request, settings});
    say("");
    showTracks(preview);
  } catch (e) {
    say(e.message || String(e), true);
  }
}

$("all").addEventListener("change", () => {
  for (const box of document.querySelectorAll("#tracks input")) box.checked = $("all").checked;
  updateSave();
});
$("save").addEventListener("click", save);
start();
