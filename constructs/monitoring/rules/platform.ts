import type { RuleContext, RuleGroup } from './types';

/** Platform: cert-manager certificates near expiry, PVCs nearly full (kubelet), crash-looping pods (kube-state-metrics). */
export function platformAlerts(ctx: RuleContext): RuleGroup {
  const t = ctx.env.monitoring.alerts.platform;
  const ns = ctx.allNamespaces;
  return {
    name: 'mlops-platform',
    rules: [
      ctx.alert({
        alert: 'CertificateExpiringSoon',
        expr: `max by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds{${ns}}) - time() < ${t.certificateExpiryDays * 86_400}`,
        for: '1h',
        labels: { severity: 'warning' },
        summary: 'TLS certificate close to expiry',
        description: `Certificate {{ $labels.name }} in namespace {{ $labels.namespace }} expires in {{ $value | humanizeDuration }} (alert at ${t.certificateExpiryDays} days): cert-manager has not renewed it.`,
      }),
      ctx.alert({
        alert: 'CertificateNotReady',
        expr: `max by (namespace, name) (certmanager_certificate_ready_status{${ns}, condition="False"}) == 1`,
        for: '15m',
        labels: { severity: 'warning' },
        summary: 'TLS certificate not ready',
        description: `Certificate {{ $labels.name }} in namespace {{ $labels.namespace }} is not Ready: its issuance or renewal is failing.`,
      }),
      ctx.alert({
        alert: 'PersistentVolumeClaimNearlyFull',
        expr: `max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{${ns}}) / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{${ns}}) > ${t.pvcFullRatio}`,
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'Persistent volume nearly full',
        description: `PVC {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} is {{ $value | humanizePercentage }} full (alert at ${t.pvcFullRatio * 100}%).`,
      }),
      ctx.alert({
        alert: 'PodCrashLooping',
        expr: `max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{${ns}, reason="CrashLoopBackOff"}) == 1 or max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{${ns}}[15m])) >= ${t.restartsPer15m}`,
        for: '10m',
        labels: { severity: 'warning' },
        summary: 'Pod crash-looping',
        description: `Container {{ $labels.container }} of pod {{ $labels.pod }} in namespace {{ $labels.namespace }} keeps restarting.`,
      }),
    ],
  };
}
