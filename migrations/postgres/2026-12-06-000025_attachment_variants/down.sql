DROP TABLE attachment_variants;
