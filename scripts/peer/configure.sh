#!/usr/bin/env bash
# Configures the installed peer with this project's logic, so both services answer the same hook:
#  - ELM JSON of our CQL (cql/target/classes/elm/*.json, FHIRHelpers 4.0.1 included) -> config/libraries/zz-all-cds/
#  - a hook config for all-disease-status (patient-view, same prefetch keys and queries as cds-services.yml, one
#    card per card of ours: conditionExpression = its "fires" definition, summary/detail with ${...} interpolation)
#    -> config/hooks/all-disease-status.json
#  - our value sets (cql/src/main/resources/valuesets/*.json, compose.include.concept) -> the peer's local
#    cql-exec-vsac cache, .vsac_cache/valueset-db.json ({url: {version: {oid, version, codes: [{code, system}]}}}),
#    which bin/www loads at start (CodeService(path, true)); every value set our ELM names is then found locally,
#    so nothing is downloaded from VSAC (no UMLS_API_KEY needed).
# Build the ELM first: mvn -o -q -pl cql -am package -DskipTests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/env.sh"

if [[ ! -d "$PEER_DIR/node_modules" ]]; then
  echo "peer/configure.sh: peer not installed at $PEER_DIR (run scripts/peer/install.sh); nothing to configure"
  exit 0
fi
elm_dir="$repo/cql/target/classes/elm"
ls "$elm_dir"/*.json >/dev/null 2>&1 || { echo "peer/configure.sh: no ELM in $elm_dir; build the cql module first"; exit 1; }

mkdir -p "$PEER_DIR/config/libraries/zz-all-cds" "$PEER_DIR/.vsac_cache"
rm -f "$PEER_DIR/config/libraries/zz-all-cds/"*.json
cp "$elm_dir"/*.json "$PEER_DIR/config/libraries/zz-all-cds/"

REPO="$repo" PEER_DIR="$PEER_DIR" node - <<'JS'
const fs = require('fs');
const path = require('path');
const yaml = require(path.join(process.env.PEER_DIR, 'node_modules', 'js-yaml'));
const repo = process.env.REPO;
const peer = process.env.PEER_DIR;

// value sets -> cql-exec-vsac cache
const db = {};
const vsDir = path.join(repo, 'cql/src/main/resources/valuesets');
for (const f of fs.readdirSync(vsDir).filter(f => f.endsWith('.json'))) {
  const vs = JSON.parse(fs.readFileSync(path.join(vsDir, f), 'utf8'));
  const codes = [];
  for (const inc of (vs.compose && vs.compose.include) || []) {
    for (const c of inc.concept || []) codes.push({ code: c.code, system: inc.system, version: inc.version });
  }
  for (const c of (vs.expansion && vs.expansion.contains) || []) codes.push({ code: c.code, system: c.system, version: c.version });
  const version = vs.version || '1.0.0';
  db[vs.url] = { [version]: { oid: vs.url, version, codes } };
}
fs.writeFileSync(path.join(peer, '.vsac_cache/valueset-db.json'), JSON.stringify(db, null, 1));

// hook config from cds-services.yml
const doc = yaml.load(fs.readFileSync(path.join(repo, 'cds-service/src/main/resources/cds-services.yml'), 'utf8'));
const service = doc['all-cds'].services.find(s => s.id === 'all-disease-status');
const libs = fs.readdirSync(path.join(peer, 'config/libraries/zz-all-cds'))
  .map(f => JSON.parse(fs.readFileSync(path.join(peer, 'config/libraries/zz-all-cds', f), 'utf8')).library.identifier);
const lib = libs.find(l => l.id === service.library);
const interpolate = s => (s || '').replace(/\{([^{}]+)\}/g, '${$1}');
const hook = {
  id: service.id,
  hook: service.hook,
  title: service.title,
  description: service.description,
  // The peer adds a prefetch key per retrieved type found in the ELM (Patient, Condition, Observation,
  // Procedure) and 412s when a key is missing; a configured null removes such a key, so the peer asks for
  // exactly our four keys.
  prefetch: Object.assign({ Patient: null, Condition: null, Observation: null, Procedure: null },
    Object.fromEntries(Object.entries(service.prefetch).map(([k, v]) => [k, v.query]))),
  _config: {
    cards: service.cards.map(c => ({
      conditionExpression: c.fires,
      card: {
        summary: interpolate(c.summary),
        indicator: c.indicator,
        detail: (c.detail || '').trim(),
        source: { label: doc['all-cds'].cards['source-label'] },
        extension: { topic: c.topic }
      }
    })),
    cql: { library: { id: lib.id, version: lib.version } }
  }
};
fs.writeFileSync(path.join(peer, 'config/hooks/all-disease-status.json'), JSON.stringify(hook, null, 2));
console.log(`peer/configure.sh: ${Object.keys(db).length} value sets -> .vsac_cache/valueset-db.json; ` +
  `hook all-disease-status (${hook._config.cards.length} cards, library ${lib.id} ${lib.version}); ` +
  `ELM: ${libs.map(l => l.id + ' ' + l.version).join(', ')}`);
JS
