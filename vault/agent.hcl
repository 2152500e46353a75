# Vault Agent for delivery-metrics outside Kubernetes (a VM, systemd): logs in with AppRole and
# renders each secret to a file named like its setting in SECRETS_DIR
# (/run/delivery-metrics/secrets here; start the service with SECRETS_DIR set to it). The
# service re-reads the directory when a file changes, so a rotation in Vault reaches it within
# Vault Agent's template refresh (5 minutes by default for KV v2) without a restart.
#   vault agent -config=vault/agent.hcl
# Run it as the service's own user (systemd User= of both units the same): the files are created
# by the agent's user with perms 0400, and Vault Agent's template stanza has no owner setting, so
# a service running as another user could not read them (it then refuses to start: "its file in
# SECRETS_DIR cannot be read (EACCES)").
# On Kubernetes the Vault Agent Injector does the same from the pod's annotations
# (k8s/statefulset.yaml); this file is not used there.
vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path                   = "/etc/delivery-metrics/vault-role-id"
      secret_id_file_path                 = "/etc/delivery-metrics/vault-secret-id"
      # Kept so that the agent can log in again after a restart; make the file 0400 and owned
      # by the service's user, or deliver it response-wrapped and let the agent remove it.
      remove_secret_id_file_after_reading = false
    }
  }
}

template_config {
  static_secret_render_interval = "5m"
}

# One stanza per setting. The file name is the setting's name; the value may be a list
# ("new,old") while a secret rotates. A key missing in Vault renders an empty file, which the
# service ignores with a warning (it keeps the previous value while it runs): that is what the
# inner `with` is for, as a bare `{{ .Data.data.KEY }}` renders the text "<no value>" for a
# missing key (error_on_missing_key is false by default), which the service would take as the
# secret.
template {
  destination = "/run/delivery-metrics/secrets/AUTH_TOKEN"
  contents    = "{{ with secret \"secret/data/delivery-metrics/push\" }}{{ with .Data.data.AUTH_TOKEN }}{{ . }}{{ end }}{{ end }}"
  perms       = "0400"
}

template {
  destination = "/run/delivery-metrics/secrets/GITHUB_WEBHOOK_SECRET"
  contents    = "{{ with secret \"secret/data/delivery-metrics/webhooks\" }}{{ with .Data.data.GITHUB_WEBHOOK_SECRET }}{{ . }}{{ end }}{{ end }}"
  perms       = "0400"
}

template {
  destination = "/run/delivery-metrics/secrets/GITLAB_WEBHOOK_TOKEN_ACME"
  contents    = "{{ with secret \"secret/data/delivery-metrics/webhooks\" }}{{ with .Data.data.GITLAB_WEBHOOK_TOKEN_ACME }}{{ . }}{{ end }}{{ end }}"
  perms       = "0400"
}

template {
  destination = "/run/delivery-metrics/secrets/GITLAB_TOKEN"
  contents    = "{{ with secret \"secret/data/delivery-metrics/scrapers\" }}{{ with .Data.data.GITLAB_TOKEN }}{{ . }}{{ end }}{{ end }}"
  perms       = "0400"
}

template {
  destination = "/run/delivery-metrics/secrets/GITHUB_TOKEN"
  contents    = "{{ with secret \"secret/data/delivery-metrics/scrapers\" }}{{ with .Data.data.GITHUB_TOKEN }}{{ . }}{{ end }}{{ end }}"
  perms       = "0400"
}
