// The exporter's NetworkPolicy (generic variant only: policies do not reliably apply to hostNetwork pods,
// see deploy/kubernetes/README.md).
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import {
  COMMON_LABELS,
  ETCD_CLIENT_PORT,
  METRICS_PORT_NAME,
  NAME,
  PROMETHEUS_PEER,
  SELECTOR_LABELS,
} from './names.js';

export function networkPolicy(): INetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: NAME, labels: COMMON_LABELS },
    spec: {
      podSelector: { matchLabels: SELECTOR_LABELS },
      policyTypes: ['Ingress', 'Egress'],
      // Scrapes from Prometheus only. The kubelet's probes need no rule: traffic from the pod's own node
      // is always allowed (Kubernetes docs, "Network Policies").
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': PROMETHEUS_PEER.namespace },
              },
              podSelector: { matchLabels: PROMETHEUS_PEER.podLabels },
            },
          ],
          ports: [{ protocol: 'TCP', port: METRICS_PORT_NAME }],
        },
      ],
      egress: [
        // etcd's client port on any address: members are often outside the cluster, and --discover-members
        // follows the member list to every advertised client URL.
        { ports: [{ protocol: 'TCP', port: ETCD_CLIENT_PORT }] },
        // DNS, for the endpoints' host names.
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    },
  };
}
