CREATE EXTERNAL LIBRARY hartonomous_ext
FROM (CONTENT = 0x<wheel>)
WITH (LANGUAGE = 'Python');
