// Runs every fixture of e2e-tests/fixtures through the browser build, as the page would, and
// posts the answers to the server that served this page; harness's `browser_check` compares
// them with the fixtures' expectations. Also times `evaluate` on a 20 KB Pod.
import init, { evaluate, validateSettings } from "/pkg/dsp_web.js";

async function run() {
  await init();
  const names = await (await fetch("/fixtures/index.json")).json();
  const answers = {};
  for (const name of names) {
    const fixture = await (await fetch(`/fixtures/${name}`)).json();
    const settings = JSON.stringify(fixture.settings ?? {});
    const answer = fixture.request
      ? evaluate(JSON.stringify(fixture.request), settings)
      : validateSettings(settings);
    answers[name] = JSON.parse(answer);
  }
  // A ~20 KB Pod with a socket volume: the page's typical input.
  const containers = [];
  for (let i = 0; containers.length < 44; i++) {
    containers.push({
      name: `c${i}`,
      image: `registry.example.com/team/app-${i}:1.${i}`,
      env: Array.from({ length: 8 }, (_, j) => ({ name: `VAR_${j}`, value: `value-${i}-${j}` })),
      volumeMounts: [{ name: "sock", mountPath: "/var/run/docker.sock" }],
    });
  }
  const pod = {
    uid: "timing", kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE",
    userInfo: { username: "timing" }, namespace: "default",
    object: { apiVersion: "v1", kind: "Pod", metadata: { name: "big", namespace: "default" },
      spec: { containers, volumes: [{ name: "sock", hostPath: { path: "/var/run/docker.sock" } }] } },
  };
  const request = JSON.stringify(pod);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    evaluate(request, "{}");
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const timing = { requestBytes: request.length, runs: times.length, medianMs: times[times.length >> 1] };
  await fetch("/results/fixtures", { method: "POST", body: JSON.stringify({ answers, timing }) });
}

run().catch((error) =>
  fetch("/results/fixtures", { method: "POST", body: JSON.stringify({ error: String(error) }) }),
);
