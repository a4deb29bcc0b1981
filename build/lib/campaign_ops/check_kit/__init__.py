"""The check toolkit every asset check stands on, whichever capability owns the check.

`outcome` (what a check returns: level, summary, figures, tables), `markdown` (its tables), `snapshot` (the
read-only, time-limited transaction a check reads in), `remedies` (what a failed check tells a person, shared with
the alerts), `dagster_result` (an outcome as a Dagster asset check result; one evaluation with its scope and its
"could not run") and `dagster_jobs` (a check's job and schedule). The SOP's checks live in `checks/`, the others
beside their capability; the one place here that names checks is the remedies table (what to do when one fails),
because the alerts read it as well as the check results.
"""
