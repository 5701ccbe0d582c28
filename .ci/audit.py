"""pip-audit over the project's installed dependencies (the venv), with a plain verdict.

Exit 1 when a dependency has a known vulnerability. pip-audit reads PyPI's per-release JSON
(https://pypi.org/pypi/<name>/<version>/json); when that cannot be read it skips the package
and would still say "No known vulnerabilities found", so this script says how many packages
were really audited, and which could not be, and why. AUDIT_STRICT=true makes "could not
audit" a failure too (for a CI that must have the answer).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    run = subprocess.run(  # noqa: S603 - our own venv's pip-audit
        [str(BIN / "pip-audit"), "--local", "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        print("pip-audit did not produce a report (above: what it printed)", file=sys.stderr)
        return 1
    strict = os.environ.get("AUDIT_STRICT", "").lower() in ("1", "true", "yes")
    lines, code = verdict(report, strict=strict)
    print("\n".join(lines))
    return code


def verdict(report: dict, *, strict: bool) -> tuple[list[str], int]:
    """What to print about pip-audit's JSON report, and the exit code."""
    # The project itself (installed editable) is not a dependency.
    dependencies = [d for d in report["dependencies"] if "editable" not in d.get("skip_reason", "")]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = len(dependencies) - len(skipped)
    lines = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            lines.append(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    lines.append(
        f"pip-audit: {audited} of {len(dependencies)} installed packages audited, {len(vulnerable)} vulnerable"
    )
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        lines.append(f"pip-audit could not audit {len(skipped)} package(s): {'; '.join(reasons)}")
        if audited == 0:
            lines.append(
                "Nothing was audited: PyPI's per-release JSON API (https://pypi.org/pypi/<name>/<version>/json) "
                "could not be read from here (on the development machines it answers 404 for every release, "
                "while https://pypi.org/pypi/<name>/json answers 200). Run `make audit` where it can be read."
            )
    if vulnerable or (skipped and strict):
        return lines, 1
    return lines, 0


if __name__ == "__main__":
    sys.exit(main())
