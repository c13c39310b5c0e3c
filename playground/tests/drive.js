// Drives the real page in a same-origin frame as a person would: paste a manifest, read the
// verdict, switch to mutate mode, read the diff; posts what it saw to the serving test server.
const frame = document.getElementById("page");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    const value = check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function drive() {
  await until(() => frame.contentDocument?.body?.dataset.ready === "true", "the page to load the policy");
  const doc = frame.contentDocument;
  const seen = {};
  const textarea = doc.getElementById("manifests");
  textarea.value = `apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: default}
spec:
  containers:
    - name: probe
      image: busybox:1.36
      volumeMounts: [{name: sock, mountPath: /var/run/docker.sock}]
  volumes:
    - {name: sock, hostPath: {path: //run/docker.sock}}
`;
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
  await until(() => doc.querySelector(".object h3")?.textContent.includes("probe"), "the verdict");
  seen.summary = doc.getElementById("summary").textContent;
  seen.heading = doc.querySelector(".object h3").textContent;
  seen.kubectl = doc.querySelector(".object .kubectl").textContent;
  seen.link = frame.contentWindow.location.hash.length > 1;

  doc.querySelector('input[name="mode"][value="mutate"]').click();
  await until(() => doc.querySelector("table.diff"), "the diff");
  seen.mutatedHeading = doc.querySelector(".object h3").textContent;
  seen.removedLines = [...doc.querySelectorAll("table.diff tr.removed td:first-child")].map((td) => td.textContent.trim());
  seen.addedLines = [...doc.querySelectorAll("table.diff tr.added td:last-child")].map((td) => td.textContent.trim());
  seen.patch = doc.querySelector("pre.patch").textContent;
  seen.settingsYaml = doc.getElementById("settings-yaml").textContent;
  seen.policyYaml = doc.getElementById("policy-yaml").textContent;
  // Image patterns a YAML 1.1 reader would take for other types, or for YAML syntax.
  const images = doc.getElementById("allowedImages");
  images.value = "*/agent:*\nyes\n12:30\nnull";
  images.dispatchEvent(new Event("input", { bubbles: true }));
  await until(() => doc.getElementById("settings-yaml").textContent.includes("12:30"), "the settings");
  seen.trickySettingsYaml = doc.getElementById("settings-yaml").textContent;
  seen.trickyPolicyYaml = doc.getElementById("policy-yaml").textContent;
  seen.runtimesChecked = [...doc.querySelectorAll('input[name="runtimes"]:checked')].map((box) => box.value);
  seen.labelledControls = [...doc.querySelectorAll("textarea, select")].every(
    (control) => doc.querySelector(`label[for="${control.id}"]`),
  );
  await fetch("/results/page", { method: "POST", body: JSON.stringify(seen) });
}

drive().catch((error) => fetch("/results/page", { method: "POST", body: JSON.stringify({ error: String(error) }) }));
