"""0002: adopt a legacy database (the status report: campaign_id, sms_stop, booked, sms_sequence_position,"""

from campaign_ops.db.migrations import sql_revision

revision, down_revision, upgrade, downgrade = sql_revision(__file__)
