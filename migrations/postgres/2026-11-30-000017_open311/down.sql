DROP TABLE report_media_urls;
DROP TABLE integration_api_keys;
