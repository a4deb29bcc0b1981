INSERT INTO compliance_client_settings (client_id, revoke_all_enrollments, changed_by, reason)
VALUES (CAST(:client_id AS uuid), :on, :by, :reason)
ON CONFLICT (client_id) DO UPDATE
   SET revoke_all_enrollments = EXCLUDED.revoke_all_enrollments, changed_by = EXCLUDED.changed_by,
       reason = EXCLUDED.reason, updated_at = now()
