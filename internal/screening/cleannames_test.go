package screening_test

import "fmt"

// cleanNames returns 500 realistic names of parties that are on no list:
// 250 people and 250 companies of the kind that buy accelerators (cloud
// firms, labs, distributors, universities). People combine common given
// names and surnames from many countries; companies combine a place, an
// invented trade name, an industry and a legal form. The combinations are
// fixed (no randomness), so a change in the false-positive count is a change
// in the engine, not in the data.
func cleanNames() []string {
	given := []string{
		"Emily", "Lukas", "Sophie", "Hiroshi", "Min-jun", "Priya", "Mateo", "Ingrid", "Olivia", "Kenji",
		"Chloe", "Rahul", "Lucia", "Tomasz", "Hannah", "Yuki", "Camille", "Arjun", "Freya", "Diego",
		"Charlotte", "Soo-ah", "Matteo", "Elin", "Noah", "Aiko", "Benjamin", "Ananya", "Clara", "Joaquin",
		"Margot", "Takeshi", "Eleanor", "Wei-ting", "Henrik", "Isabella", "Daniel", "Sakura", "Felix", "Meera",
		"Gabriel", "Astrid", "Julian", "Haruka", "Leonie", "Vikram", "Amelie", "Oskar", "Beatriz", "Rowan",
	}
	family := []string{
		"Thornbury", "Vanderlinde", "Okonkwo-Baird", "Haverford", "Lindqvist", "Takahashi", "Fairweather", "Castellanos", "Brightwater", "Nakamura",
		"Pemberton", "Kowalczyk", "Ashdown", "Raghunathan", "Oyelaran", "Whitcombe", "Morimoto", "Delacroix-Hart", "Sandoval", "Eriksdottir",
		"Hollingsworth", "Villanueva", "Aldridge", "Sorensen", "Kaczmarek", "Winterbourne", "Fitzgerald", "Iwasaki", "Carrington", "Blomqvist",
		"Montgomery", "Abernathy", "Yamaguchi", "Lancaster", "Gallardo", "Pettersen", "Rutherford", "Hasegawa", "Crowley", "Stavropoulos",
		"Wetherby", "Nieminen", "Halvorsen", "Quintero", "Bellamy", "Moreau-Lind", "Kessington", "Tanabe", "Goodfellow", "Marchetti",
	}
	var out []string
	for i := 0; i < 250; i++ {
		g := given[i%len(given)]
		f := family[(i*7+i/len(given))%len(family)]
		if i%3 == 0 {
			out = append(out, fmt.Sprintf("%s, %s", f, g)) // list-style order
		} else {
			out = append(out, g+" "+f)
		}
	}
	places := []string{
		"Austin", "Munich", "Osaka", "Bangalore", "Taipei", "Singapore", "Eindhoven", "Montreal", "Hsinchu", "Lyon",
		"Gothenburg", "Melbourne", "Zurich", "Seattle", "Kyoto", "Pune", "Dublin", "Helsinki", "Porto", "Auckland",
		"Hangzhou", "Suzhou", "Shenzhen", "Nanjing", "Xiamen",
	}
	trade := []string{
		"Brightpath", "Silverfern", "Northwind", "Bluestone", "Clearwater", "Larkspur", "Evergreen Peak", "Quillon", "Tidewell", "Ambergate",
		"Cobaltline", "Sunmere", "Driftwood", "Kestrel", "Harborlight", "Veloxa", "Mistral Ridge", "Pinecrest", "Orchid Lane", "Stonebridge",
		"Yunfan", "Qingyue", "Haoyu Xingchen", "Lanting", "Mingrui",
	}
	industry := []string{
		"Cloud Computing", "Data Systems", "Research Lab", "Robotics", "Medical Imaging",
		"Analytics", "Software", "Logistics", "Bioinformatics", "Climate Modeling",
	}
	legal := []string{"Co., Ltd.", "GmbH", "Inc.", "Pte. Ltd.", "LLC", "B.V.", "K.K.", "Pvt. Ltd.", "AB", "S.A.S."}
	for i := 0; i < 250; i++ {
		p := places[i%len(places)]
		t := trade[(i*3+i/len(places))%len(trade)]
		ind := industry[(i/5+i)%len(industry)]
		l := legal[(i*7)%len(legal)]
		switch i % 4 {
		case 0:
			out = append(out, fmt.Sprintf("%s %s %s %s", p, t, ind, l))
		case 1:
			out = append(out, fmt.Sprintf("%s %s %s", t, ind, l))
		case 2:
			out = append(out, fmt.Sprintf("%s %s (%s) %s", t, ind, p, l))
		default:
			out = append(out, fmt.Sprintf("%s %s", t, ind))
		}
	}
	return out
}
