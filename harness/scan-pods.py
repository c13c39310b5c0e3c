#!/usr/bin/env python3
"""Writes a kubectl List of N Pods (about 1.2 KB each, one in a hundred mounting the Docker
socket) for timing `dsp scan`: `python3 harness/scan-pods.py 100000 > pods.json`."""
import json
import sys


def pod(i):
    daemonset = f"agent-{i % 100}"
    exposed = i % 1000 < 100 and i % 10 == 0
    volumes = [
        {"name": "config", "configMap": {"name": "agent"}},
        {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}},
    ]
    mounts = [
        {"name": "config", "mountPath": "/etc/agent"},
        {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True},
    ]
    if exposed:
        volumes.append({"name": "dockersock", "hostPath": {"path": "/var/run/docker.sock"}})
        mounts.append({"name": "dockersock", "mountPath": "/var/run/docker.sock"})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{daemonset}-{i}",
            "namespace": "monitoring",
            "uid": f"uid-{i:08d}",
            "labels": {"app": daemonset, "pod-template-hash": "5d8f7c9b4"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": daemonset,
                                 "uid": "x", "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "nodeName": f"node-{i // 100}",
            "serviceAccountName": "agent",
            "containers": [{
                "name": "agent",
                "image": "registry.example.com/agent:7",
                "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": mounts,
            }],
            "volumes": volumes,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
        },
        "status": {"phase": "Running", "podIP": f"10.0.{i // 256 % 256}.{i % 256}",
                   "hostIP": "192.0.2.1", "startTime": "2026-12-01T00:00:00Z"},
    }


count = int(sys.argv[1])
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod(i) for i in range(count)]}, sys.stdout)
