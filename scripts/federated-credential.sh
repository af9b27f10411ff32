#!/usr/bin/env bash
# Lets the function app's system-assigned managed identity sign in as THE Entra app (the tab's SSO app,
# AAD_APP_CLIENT_ID), which holds Attest's Graph application permissions: a federated identity credential on that
# app whose subject is the identity's object id. No secret or certificate exists anywhere.
#
# Bicep cannot create this (Entra objects need the preview Microsoft Graph Bicep extension), so m365agents.yml runs
# this script after arm/deploy, and docs/deploy.md gives the same command for a deployment without the toolkit.
# Idempotent: the credential is found by name and updated (the function app may have been recreated, with a new
# identity), or created.
#
#   bash scripts/federated-credential.sh <AAD_APP_CLIENT_ID> <FUNCTION_PRINCIPAL_ID> <FEDERATED_CREDENTIAL_ISSUER>
#
# Needs the Azure CLI signed in as an owner of the app registration (or Application Administrator).
set -euo pipefail

usage="usage: $0 <app client id> <function app principal id> <issuer, https://login.microsoftonline.com/<tenant>/v2.0>"
app_id="${1:-}"
subject="${2:-}"
issuer="${3:-}"
guid='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
if [[ ! "$app_id" =~ $guid ]]; then
  echo "federated-credential: the app client id '$app_id' is not a GUID (AAD_APP_CLIENT_ID in env/.env.<env>, written by aadApp/create). $usage" >&2
  exit 2
fi
if [[ ! "$subject" =~ $guid ]]; then
  echo "federated-credential: the principal id '$subject' is not a GUID (FUNCTION_PRINCIPAL_ID, a Bicep output: run the arm/deploy step first). $usage" >&2
  exit 2
fi
if [[ ! "$issuer" =~ ^https://[^/]+/[0-9a-fA-F-]{36}/v2\.0$ ]]; then
  echo "federated-credential: the issuer '$issuer' is not https://<login host>/<tenant id>/v2.0 (FEDERATED_CREDENTIAL_ISSUER, a Bicep output). $usage" >&2
  exit 2
fi

name=attest-function-app
parameters=$(printf '{"name":"%s","issuer":"%s","subject":"%s","audiences":["api://AzureADTokenExchange"],"description":"Attest function app managed identity signs in as this app (Microsoft Graph)"}' \
  "$name" "$issuer" "$subject")

existing=$(az ad app federated-credential list --id "$app_id" --query "[?name=='$name'].id | [0]" -o tsv)
if [[ -z "$existing" ]]; then
  az ad app federated-credential create --id "$app_id" --parameters "$parameters" --output none
  echo "federated-credential: created $name on app $app_id for principal $subject"
else
  az ad app federated-credential update --id "$app_id" --federated-credential-id "$existing" \
    --parameters "$parameters" --output none
  echo "federated-credential: $name on app $app_id now names principal $subject"
fi
