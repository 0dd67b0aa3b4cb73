-- What a category covers, for officers choosing one and for Open311 `services`.
ALTER TABLE report_categories ADD COLUMN description VARCHAR(1000);
