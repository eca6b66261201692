#!/usr/bin/env bash
# Adds the release that image/build-disk.sh made to an update directory for systemd-sysupdate,
# and signs the directory's checksums:
#
#   BORNE_SIGNING_KEY=KEYID image/make-release.sh [DISK_DIR] RELEASE_DIR
#
# DISK_DIR (default $BORNE_IMAGE_CACHE/disk) holds borne_V.root.squashfs and borne_V.efi, as
# image/release-files.sh makes them (for `make image`, through image/build-disk.sh).
# RELEASE_DIR is the directory the federation serves over HTTPS (the image's BORNE_UPDATE_URL);
# the release's two files are copied into it next to the older ones, then
#   SHA256SUMS      checksums of every borne_* file of the directory
#   SHA256SUMS.gpg  its detached signature by BORNE_SIGNING_KEY (a key id, fingerprint or e-mail
#                   of the gpg keyring in GNUPGHOME, default ~/.gnupg)
# are written anew. The terminals check that signature against the public key built into their
# image (BORNE_SIGNING_PUBKEY at build time, /usr/lib/systemd/import-pubring.gpg), then each
# file against SHA256SUMS: a release signed by another key, or a file changed after signing, is
# refused. BORNE_RELEASE_KEEP (default 3): how many versions the directory keeps.
# README, "Updating terminals", says how a federation makes and keeps its key.
set -euo pipefail

CACHE=${BORNE_IMAGE_CACHE:-/var/cache/borne-image}
if [ $# -ge 2 ]; then DISK=$1 RELEASE=$2; elif [ $# = 1 ]; then DISK=$CACHE/disk RELEASE=$1; else
  echo "usage: BORNE_SIGNING_KEY=KEYID make-release.sh [DISK_DIR] RELEASE_DIR" >&2; exit 2
fi
KEY=${BORNE_SIGNING_KEY:-}
KEEP=${BORNE_RELEASE_KEEP:-3}
say() { printf '[release %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "$*" >&2; exit 2; }

[ -n "$KEY" ] || die "BORNE_SIGNING_KEY is not set: the gpg key (id, fingerprint or e-mail) that signs releases"
gpg --batch --list-secret-keys "$KEY" >/dev/null 2>&1 || die "no secret key '$KEY' in the gpg keyring (GNUPGHOME=${GNUPGHOME:-~/.gnupg})"
ROOT=$(find "$DISK" -maxdepth 1 -name 'borne_*.root.squashfs' | sort -V | tail -n 1)
[ -n "$ROOT" ] || die "no release in $DISK: make image first"
NAME=$(basename "$ROOT" .root.squashfs)
[ -f "$DISK/$NAME.efi" ] || die "$DISK/$NAME.efi is missing"

mkdir -p "$RELEASE"
say "$NAME -> $RELEASE"
# Copied under a temporary name, then renamed: a terminal never sees half a file.
for f in "$NAME.root.squashfs" "$NAME.efi"; do
  cp "$DISK/$f" "$RELEASE/.$f.tmp" && mv "$RELEASE/.$f.tmp" "$RELEASE/$f"
done
# Only the newest versions stay.
mapfile -t versions < <(find "$RELEASE" -maxdepth 1 -name 'borne_*.root.squashfs' -printf '%f\n' \
  | sed 's/^borne_//; s/\.root\.squashfs$//' | sort -V)
for ((i = 0; i < ${#versions[@]} - KEEP; i++)); do
  say "dropping borne_${versions[i]}"
  rm -f "$RELEASE/borne_${versions[i]}.root.squashfs" "$RELEASE/borne_${versions[i]}.efi"
done
(cd "$RELEASE" && sha256sum borne_* >.SHA256SUMS.tmp)
gpg --batch --yes --local-user "$KEY" --detach-sign --output "$RELEASE/.SHA256SUMS.gpg.tmp" "$RELEASE/.SHA256SUMS.tmp"
mv "$RELEASE/.SHA256SUMS.tmp" "$RELEASE/SHA256SUMS"
mv "$RELEASE/.SHA256SUMS.gpg.tmp" "$RELEASE/SHA256SUMS.gpg"
say "signed by $KEY: $(wc -l <"$RELEASE/SHA256SUMS") files"
cat "$RELEASE/SHA256SUMS"
