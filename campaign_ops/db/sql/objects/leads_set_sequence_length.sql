-- A lead carries its campaign's sequence length (leads.campaign_sequence_length, read by the due queue's WHEN
-- clauses): set from the campaign when a lead is inserted or moves to another campaign.
CREATE OR REPLACE FUNCTION leads_set_sequence_length() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.campaign_sequence_length := (SELECT campaign_sequence_length(c.messages)
                                       FROM campaigns c WHERE c.id = NEW.campaign_link_id);
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER leads_set_sequence_length_on_insert
    BEFORE INSERT ON leads
    FOR EACH ROW
    EXECUTE FUNCTION leads_set_sequence_length();
CREATE OR REPLACE TRIGGER leads_set_sequence_length_on_update
    BEFORE UPDATE OF campaign_link_id ON leads
    FOR EACH ROW
    WHEN (NEW.campaign_link_id IS DISTINCT FROM OLD.campaign_link_id)
    EXECUTE FUNCTION leads_set_sequence_length();
