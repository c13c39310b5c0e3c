// The examples the page loads in one click.
export const EXAMPLES = {
  agent: {
    settings: {},
    manifests: `# A node agent that reads container metadata from the Docker socket.
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: datadog-agent
  namespace: monitoring
spec:
  selector:
    matchLabels: {app: datadog-agent}
  template:
    metadata:
      labels: {app: datadog-agent}
    spec:
      containers:
        - name: agent
          image: gcr.io/datadoghq/agent:7.60.0
          env:
            - {name: DD_KUBERNETES_KUBELET_HOST, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
          volumeMounts:
            - {name: dockersocket, mountPath: /var/run/docker.sock, readOnly: true}
            - {name: procdir, mountPath: /host/proc, readOnly: true}
            - {name: cgroups, mountPath: /host/sys/fs/cgroup, readOnly: true}
      volumes:
        - {name: dockersocket, hostPath: {path: /var/run/docker.sock}}
        - {name: procdir, hostPath: {path: /proc}}
        - {name: cgroups, hostPath: {path: /sys/fs/cgroup}}
`,
  },
  ci: {
    settings: { mode: "mutate", runtimes: ["docker", "containerd"], directoryMounts: "warn" },
    manifests: `# A CI runner chart that mounts /var/run "just in case", and the socket through a subPath.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ci-runner
  namespace: ci
spec:
  serviceName: ci-runner
  selector:
    matchLabels: {app: ci-runner}
  template:
    metadata:
      labels: {app: ci-runner}
    spec:
      containers:
        - name: runner
          image: registry.example.com/ci/runner:3.4
          volumeMounts:
            - {name: docker, mountPath: /var/run/docker.sock}
            - {name: work, mountPath: /builds}
        - name: cache
          image: registry.example.com/ci/cache:1.2
          volumeMounts:
            - {name: run, mountPath: /var/run/containerd/containerd.sock, subPath: containerd/containerd.sock}
      volumes:
        - {name: docker, hostPath: {path: /var/run/docker.sock, type: Socket}}
        - {name: run, hostPath: {path: /var/run}}
        - {name: work, emptyDir: {}}
`,
  },
  clean: {
    settings: {},
    manifests: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/shop/web:2.1
          volumeMounts:
            - {name: cache, mountPath: /var/cache/nginx}
      volumes:
        - {name: cache, emptyDir: {}}
`,
  },
  review: {
    settings: { directoryMounts: "warn" },
    manifests: `{
  "apiVersion": "admission.k8s.io/v1",
  "kind": "AdmissionReview",
  "request": {
    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"},
    "name": "debug",
    "namespace": "default",
    "operation": "CREATE",
    "userInfo": {"username": "alice"},
    "object": {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "debug", "namespace": "default"},
      "spec": {
        "containers": [{"name": "shell", "image": "busybox:1.36",
          "volumeMounts": [{"name": "lib", "mountPath": "/s", "subPath": "../run/docker.sock"}]}],
        "volumes": [{"name": "lib", "hostPath": {"path": "/var/lib"}}]
      }
    }
  }
}
`,
  },
};
