-- A campaign whose messages change length rewrites its leads' campaign_sequence_length. A value left stale by a race
-- (a lead inserted while its campaign's messages change, both uncommitted) errs either way: too short fires the due
-- queue's function for nothing (it decides with the campaign's messages), too long leaves the lead for the 15-minute
-- sweep, which reads the campaigns.
CREATE OR REPLACE FUNCTION campaigns_propagate_sequence_length() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads
       SET campaign_sequence_length = campaign_sequence_length(NEW.messages)
     WHERE campaign_link_id = NEW.id
       AND campaign_sequence_length IS DISTINCT FROM campaign_sequence_length(NEW.messages);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER campaigns_propagate_sequence_length
    AFTER UPDATE OF messages ON campaigns
    FOR EACH ROW
    WHEN (campaign_sequence_length(NEW.messages) IS DISTINCT FROM campaign_sequence_length(OLD.messages))
    EXECUTE FUNCTION campaigns_propagate_sequence_length();
