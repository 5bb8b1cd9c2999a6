-- The classifiers that screened a generation (name -> version, or the state of one that could
-- not run), kept with the record: an output released after a reviewer's approval is signed with
-- the versions that screened it, not with whatever is loaded on the day of the approval.
ALTER TABLE generations ADD COLUMN classifier_versions jsonb NOT NULL DEFAULT '{}';
