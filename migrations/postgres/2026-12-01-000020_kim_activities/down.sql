DELETE FROM attachments WHERE owner_type IN ('activity', 'consultation');
ALTER TABLE attachments DROP CONSTRAINT attachments_owner_type_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_owner_type_check
  CHECK (owner_type IN ('bulletin', 'report'));
DROP TABLE kim_activities;
