// The playground page: reads the manifests and the settings form, asks the policy (the
// WebAssembly build of the decision core, pkg/dsp_web.js) for a verdict per object, and shows
// it as kubectl would. All state stays in the page and in the URL fragment.
import init, { review, toYaml as yamlOf, validateSettings } from "./pkg/dsp_web.js";
import { EXAMPLES } from "./examples.js";

const $ = (id) => document.getElementById(id);
const form = $("settings");
const input = $("manifests");

/** The settings the form describes, with the policy's defaults left out. */
export function readSettings() {
  const data = new FormData(form);
  const lines = (name) =>
    String(data.get(name) || "")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  const settings = {};
  // Every preset is the policy's default: listed only when some are left out.
  const runtimes = data.getAll("runtimes");
  if (!ALL_RUNTIMES.every((runtime) => runtimes.includes(runtime))) settings.runtimes = runtimes;
  const extra = lines("extraSocketPaths");
  if (extra.length) settings.extraSocketPaths = extra;
  if (data.get("directoryMounts") !== "reject") settings.directoryMounts = data.get("directoryMounts");
  const images = lines("allowedImages");
  if (images.length) settings.allowedImages = images;
  if (data.get("mode") !== "reject") settings.mode = data.get("mode");
  return settings;
}

function writeSettings(settings) {
  form.reset();
  for (const box of form.querySelectorAll('input[name="runtimes"]')) {
    box.checked = (settings.runtimes || ALL_RUNTIMES).includes(box.value);
  }
  for (const radio of form.querySelectorAll('input[name="mode"]')) {
    radio.checked = radio.value === (settings.mode || "reject");
  }
  form.directoryMounts.value = settings.directoryMounts || "reject";
  form.extraSocketPaths.value = (settings.extraSocketPaths || []).join("\n");
  form.allowedImages.value = (settings.allowedImages || []).join("\n");
}

/** The policy's default runtimes: every preset. */
const ALL_RUNTIMES = ["docker", "containerd", "crio", "podman"];

/**
 * Settings as YAML, by the policy's own writer (web/, dsp_scan::yaml): every string a YAML 1.1
 * reader such as kubectl's would take for another type is quoted. Each line after `indent`.
 */
export function toYaml(value, indent = "") {
  return yamlOf(JSON.stringify(value))
    .trimEnd()
    .split("\n")
    .map((line) => indent + line)
    .join("\n");
}

function policyYaml(settings) {
  const mutating = settings.mode === "mutate";
  return `apiVersion: policies.kubewarden.io/v1
kind: ClusterAdmissionPolicy
metadata:
  name: docker-socket-policy
spec:
  module: registry://ghcr.io/docker-socket-policy/policies/docker-socket-policy:v0.1.0
  mode: protect
  mutating: ${mutating}
  backgroundAudit: true
  rules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates", "persistentvolumes"]
      operations: ["CREATE", "UPDATE"]
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      resources: ["deployments", "daemonsets", "statefulsets", "replicasets"]
      operations: ["CREATE", "UPDATE"]
    - apiGroups: ["batch"]
      apiVersions: ["v1"]
      resources: ["jobs", "cronjobs"]
      operations: ["CREATE", "UPDATE"]
  settings:${Object.keys(settings).length ? "\n" + toYaml(settings, "    ") : " {}"}`;
}

/** A line diff (longest common subsequence) of two texts, as rows of [left, right, kind]. */
export function diffLines(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length * y.length > 4_000_000) return x.map((l, i) => [l, y[i] ?? "", l === y[i] ? "same" : "changed"]);
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) rows.push([x[i++], y[j++], "same"]);
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) rows.push(["", y[j++], "added"]);
    else rows.push([x[i++], "", "removed"]);
  }
  return rows;
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
};

function verdictOf(response) {
  if (response.error) return ["error", "Not evaluated"];
  if (!response.allowed) return ["rejected", "Rejected"];
  if (response.patch) return ["mutated", "Admitted, mutated"];
  if (response.warnings && response.warnings.length) return ["warned", "Admitted with warnings"];
  return ["admitted", "Admitted"];
}

/** What kubectl prints for the object. */
export function kubectlOutput(row) {
  const r = row.response;
  if (r.error) return `error: ${r.error.message}`;
  const lines = (r.warnings || []).map((w) => `Warning: ${w}`);
  if (r.allowed) {
    lines.push(`${(row.kind || "object").toLowerCase()}/${row.name || "?"} created`);
  } else {
    lines.push(
      `Error from server: admission webhook "clusterwide-docker-socket-policy.kubewarden.admission" denied the request: ${r.status?.message ?? ""}`,
    );
  }
  return lines.join("\n");
}

function renderObject(row, index) {
  const [verdict, label] = verdictOf(row.response);
  const title = `${row.kind || "Object"} ${row.namespace ? row.namespace + "/" : ""}${row.name || "(unnamed)"}`;
  const card = el("article", { class: `object ${verdict}`, "aria-labelledby": `object-${index}` });
  card.append(
    el("h3", { id: `object-${index}` }, el("span", { class: "badge" }, label), " ", title),
    el("pre", { class: "kubectl", tabindex: "0", "aria-label": `kubectl output for ${title}` }, kubectlOutput(row)),
  );
  if (row.after) {
    const before = JSON.stringify(row.before, null, 2);
    const after = JSON.stringify(row.after, null, 2);
    const table = el("table", { class: "diff" });
    table.append(el("caption", {}, "The object before and after the patch"));
    table.append(el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Before"), el("th", { scope: "col" }, "After"))));
    const body = el("tbody");
    for (const [left, right, kind] of diffLines(before, after)) {
      body.append(el("tr", { class: kind }, el("td", {}, left), el("td", {}, right)));
    }
    table.append(body);
    const patch = JSON.stringify(JSON.parse(atob(row.response.patch)), null, 2);
    const wrap = el("div", { class: "diff-wrap", tabindex: "0", role: "region", "aria-label": `Diff of ${title}` }, table);
    // Open the diff at its first change, with a few lines of context above it.
    requestAnimationFrame(() => {
      const first = body.querySelector("tr.removed, tr.added");
      if (first) wrap.scrollTop = Math.max(0, first.offsetTop - 6 * first.offsetHeight);
    });
    card.append(
      wrap,
      el("details", {}, el("summary", {}, "JSON Patch (what the API server applies)"), el("pre", { class: "patch" }, patch)),
    );
  }
  return card;
}

function render() {
  const settings = readSettings();
  $("settings-yaml").textContent = Object.keys(settings).length ? toYaml(settings) : "{}";
  $("policy-yaml").textContent = policyYaml(settings);
  const checked = JSON.parse(validateSettings(JSON.stringify(settings)));
  const settingsError = $("settings-error");
  settingsError.hidden = checked.valid !== false;
  settingsError.textContent = checked.valid === false ? `Invalid settings: ${checked.message}` : "";
  const objects = $("objects");
  objects.replaceChildren();
  if (!input.value.trim()) {
    $("summary").textContent = "Paste manifests, drop a file, or load an example.";
    return;
  }
  const answer = JSON.parse(review(input.value, JSON.stringify(settings)));
  if (answer.error) {
    $("summary").textContent = answer.error.message;
    $("summary").className = "summary error";
    return;
  }
  const counts = {};
  answer.objects.forEach((row, i) => {
    const [verdict] = verdictOf(row.response);
    counts[verdict] = (counts[verdict] || 0) + 1;
    objects.append(renderObject(row, i));
  });
  const parts = Object.entries(counts).map(([verdict, n]) => `${n} ${verdict}`);
  $("summary").className = `summary ${counts.rejected ? "rejected" : counts.mutated ? "mutated" : "admitted"}`;
  $("summary").textContent = `${answer.objects.length} object${answer.objects.length === 1 ? "" : "s"}: ${parts.join(", ")}`;
  saveState();
}

function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decode(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function saveState() {
  const state = encode(JSON.stringify({ m: input.value, s: readSettings() }));
  history.replaceState(null, "", `#${state}`);
}

function loadState() {
  if (location.hash.length < 2) return false;
  try {
    const state = JSON.parse(decode(location.hash.slice(1)));
    input.value = state.m || "";
    writeSettings(state.s || {});
    return true;
  } catch {
    return false;
  }
}

let timer;
const later = () => {
  clearTimeout(timer);
  timer = setTimeout(render, 150);
};

async function main() {
  await init();
  input.addEventListener("input", later);
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", (e) => e.preventDefault());
  for (const button of document.querySelectorAll("[data-example]")) {
    button.addEventListener("click", () => {
      const example = EXAMPLES[button.dataset.example];
      input.value = example.manifests;
      writeSettings(example.settings);
      render();
    });
  }
  input.addEventListener("dragover", (e) => e.preventDefault());
  input.addEventListener("drop", async (e) => {
    e.preventDefault();
    const file = e.dataTransfer.files[0];
    if (file) {
      input.value = await file.text();
      render();
    }
  });
  $("share").addEventListener("click", async () => {
    saveState();
    try {
      await navigator.clipboard.writeText(location.href);
      $("share-status").textContent = "Link copied.";
    } catch {
      $("share-status").textContent = "Copy the address bar: it holds this case.";
    }
  });
  const asked = EXAMPLES[new URLSearchParams(location.search).get("example")];
  if (asked) {
    input.value = asked.manifests;
    writeSettings(asked.settings);
  } else if (!loadState()) {
    input.value = EXAMPLES.agent.manifests;
    writeSettings(EXAMPLES.agent.settings);
  }
  render();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  $("summary").textContent = `The policy could not be loaded: ${error}`;
  $("summary").className = "summary error";
});
