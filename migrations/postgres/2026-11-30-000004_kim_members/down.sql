DROP TABLE kim_members;
