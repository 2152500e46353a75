#!/usr/bin/env bash
# One-time Vault setup for delivery-metrics on Kubernetes, run by a Vault admin
# (VAULT_ADDR and VAULT_TOKEN set). Idempotent. What it makes:
#   - the KV v2 engine at secret/ (if missing), the policy vault/policy.hcl,
#   - the Kubernetes auth method (if missing) and its role "delivery-metrics", bound to the
#     ServiceAccount delivery-metrics in the namespace delivery-metrics (k8s/),
#   - the secret entries the pod's Vault Agent renders (k8s/statefulset.yaml), with random
#     values unless given: AUTH_TOKEN, GITHUB_WEBHOOK_SECRET, GITLAB_WEBHOOK_TOKEN_ACME (a
#     group; rename to yours), GITLAB_TOKEN and GITHUB_TOKEN (empty until you put real ones).
# Rotation: write "new,old" (both accepted), update the sender, then write "new" alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
namespace="${NAMESPACE:-delivery-metrics}"
random() { head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40; }

vault secrets list -format=json | grep -q '"secret/"' || vault secrets enable -path=secret kv-v2
vault policy write delivery-metrics "$here/policy.hcl"

vault auth list -format=json | grep -q '"kubernetes/"' || {
  vault auth enable kubernetes
  # Inside the cluster Vault finds the API server itself; from outside, set kubernetes_host.
  vault write auth/kubernetes/config kubernetes_host="${KUBERNETES_HOST:-https://kubernetes.default.svc}"
}
vault write auth/kubernetes/role/delivery-metrics \
  bound_service_account_names=delivery-metrics \
  bound_service_account_namespaces="$namespace" \
  token_policies=delivery-metrics \
  token_ttl=1h

# Never overwrite what is there: `vault kv patch` for changes, this only seeds.
seed() {
  local path="$1"; shift
  vault kv get "$path" >/dev/null 2>&1 && { echo "$path exists, left as is"; return; }
  vault kv put "$path" "$@"
}
seed secret/delivery-metrics/push AUTH_TOKEN="${AUTH_TOKEN:-$(random)}"
seed secret/delivery-metrics/webhooks \
  GITHUB_WEBHOOK_SECRET="${GITHUB_WEBHOOK_SECRET:-$(random)}" \
  GITLAB_WEBHOOK_TOKEN_ACME="${GITLAB_WEBHOOK_TOKEN_ACME:-$(random)}"
seed secret/delivery-metrics/scrapers GITLAB_TOKEN="${GITLAB_TOKEN:-}" GITHUB_TOKEN="${GITHUB_TOKEN:-}"
