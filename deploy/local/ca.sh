#!/usr/bin/env bash
# A private certificate authority for Payrail's service-to-service mutual TLS (docs/security.md,
# "The vault process"). Writes into DIR:
#   ca.crt, ca.key            the CA (keep ca.key offline in production; every process gets ca.crt)
#   vault.crt, vault.key      the vault server's certificate: SAN localhost, 127.0.0.1 and $VAULT_SANS
#   risk.crt, risk.key        the risk server's certificate: SAN localhost, 127.0.0.1 and $RISK_SANS
#   <role>.crt, <role>.key    one client certificate per calling role (default: api scheduler)
# Usage: deploy/local/ca.sh DIR [ROLE...]     e.g. VAULT_SANS="DNS:vault.internal" RISK_SANS="DNS:risk.internal" deploy/local/ca.sh ./certs api
# An existing CA in DIR is kept (new certificates are signed by it); existing certificates are replaced.
set -euo pipefail

dir="${1:?usage: ca.sh DIR [ROLE...]}"
shift
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(api scheduler)
days="${CERT_DAYS:-825}"
vault_sans="DNS:localhost,IP:127.0.0.1${VAULT_SANS:+,$VAULT_SANS}"
risk_sans="DNS:localhost,IP:127.0.0.1${RISK_SANS:+,$RISK_SANS}"

mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
  new_key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=Payrail/CN=Payrail service CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
fi

# sign NAME EXTENSIONS: a key and a certificate signed by the CA, with the given v3 extensions.
sign() {
  local name="$1" extensions="$2"
  new_key "$name.key"
  openssl req -new -key "$name.key" -subj "/O=Payrail/CN=$name" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile <(printf '%s\n' "$extensions") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

sign vault "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$vault_sans"
sign risk "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$risk_sans"
for role in "${roles[@]}"; do
  sign "$role" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
done
chmod 644 ca.crt ./*.crt
echo "certificates in $(pwd): ca.crt vault.crt risk.crt ${roles[*]/%/.crt}"
