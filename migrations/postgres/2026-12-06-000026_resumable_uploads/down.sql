DROP TABLE resumable_upload_chunks;
DROP TABLE resumable_uploads;
