select '' from json_array()
