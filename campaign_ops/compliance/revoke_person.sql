-- The pass's person-wide revocation step (sql/objects/compliance_revoke_person.sql), before de_enroll_leads in
-- the same transaction: each other
-- active enrollment of a person whose opt-out the pass honors is de-enrolled, per client's setting.
SELECT client_id::text AS client_id, revoked
  FROM compliance_revoke_person(CAST(:client_ids AS uuid[]), CAST(:run_ids AS uuid[]))
