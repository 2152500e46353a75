# Vault policy "delivery-metrics": read its own secrets, nothing else.
# Secrets live in the KV v2 engine mounted at secret/, one entry per concern; each key of an
# entry is a setting name (README, "Configuration"), rendered to a file of that name in
# SECRETS_DIR by Vault Agent.
#   secret/delivery-metrics/push       AUTH_TOKEN, METRICS_TOKEN
#   secret/delivery-metrics/webhooks   GITHUB_WEBHOOK_SECRET[_<OWNER>], GITLAB_WEBHOOK_TOKEN_<KEY>
#   secret/delivery-metrics/scrapers   GITLAB_TOKEN, GITHUB_TOKEN
#   secret/delivery-metrics/groups     PROM_GROUP_TOKEN_<GROUP>
path "secret/data/delivery-metrics/*" {
  capabilities = ["read"]
}

# Nothing on secret/metadata/: Vault Agent finds the KV version through
# sys/internal/ui/mounts/<path>, which needs no rule beyond this one
# (https://developer.hashicorp.com/vault/docs/agent-and-proxy/agent/template, "KV secrets engine
# version discovery"); metadata would show every version's times and custom metadata.
